import { describe, expect, test } from "vitest";
import {
  COMPRESSION_ALGORITHM_NAMES,
  COMPRESSOR_NAMES,
  CompressionAlgorithms,
  compressionAlgorithmFromName,
  compressionFromCompressorName,
  compressorNameOf,
  isCompressionAlgorithmName,
  Xz,
  Zstd,
  ZstdChunked,
} from "@stevedore/compression";
import { UnsupportedError } from "@stevedore/types";

describe("compression algorithm names", () => {
  test("compressionAlgorithmFromName() returns each known algorithm by its name", () => {
    for (const name of COMPRESSION_ALGORITHM_NAMES) {
      expect(compressionAlgorithmFromName(name).name).toBe(name);
      expect(compressionAlgorithmFromName(name)).toBe(CompressionAlgorithms[name]);
    }
  });

  test("compressionAlgorithmFromName() accepts the Go library's spelling Xz", () => {
    expect(compressionAlgorithmFromName("Xz")).toBe(Xz);
  });

  test("compressionAlgorithmFromName() throws UnsupportedError naming the known algorithms for an unknown name", () => {
    expect(() => compressionAlgorithmFromName("lz4")).toThrow(UnsupportedError);
    expect(() => compressionAlgorithmFromName("lz4")).toThrow(/"lz4".*gzip, zstd, zstd:chunked, bzip2, xz/);
    expect(() => compressionAlgorithmFromName("GZIP")).toThrow(UnsupportedError);
  });

  test("zstd:chunked is a variant of zstd with the same magic, and only gzip and zstd can compress", () => {
    expect(ZstdChunked.baseVariantName).toBe("zstd");
    expect([...ZstdChunked.magic]).toEqual([...Zstd.magic]);
    expect(COMPRESSION_ALGORITHM_NAMES.filter((n) => CompressionAlgorithms[n].canCompress)).toEqual(["gzip", "zstd"]);
    expect(COMPRESSION_ALGORITHM_NAMES.every((n) => CompressionAlgorithms[n].canDecompress)).toBe(true);
  });

  test("isCompressionAlgorithmName() accepts exactly the canonical names", () => {
    expect(isCompressionAlgorithmName("zstd:chunked")).toBe(true);
    expect(isCompressionAlgorithmName("Xz")).toBe(false);
    expect(isCompressionAlgorithmName("toString")).toBe(false);
    expect(isCompressionAlgorithmName(42)).toBe(false);
  });
});

describe("blob-info cache compressor names", () => {
  test("COMPRESSOR_NAMES lists the algorithms and uncompressed", () => {
    expect([...COMPRESSOR_NAMES].sort()).toEqual(["bzip2", "gzip", "uncompressed", "xz", "zstd", "zstd:chunked"]);
  });

  test("compressorNameOf() maps an algorithm to its name and no algorithm to uncompressed", () => {
    expect(compressorNameOf("gzip")).toBe("gzip");
    expect(compressorNameOf(Zstd)).toBe("zstd");
    expect(compressorNameOf(undefined)).toBe("uncompressed");
    expect(compressorNameOf(null)).toBe("uncompressed");
  });

  test("compressionFromCompressorName() reads names back, tolerating Xz and unknown names", () => {
    for (const name of COMPRESSION_ALGORITHM_NAMES) expect(compressionFromCompressorName(compressorNameOf(name))).toBe(name);
    expect(compressionFromCompressorName("uncompressed")).toBe("uncompressed");
    expect(compressionFromCompressorName("unknown")).toBe("unknown");
    expect(compressionFromCompressorName("Xz")).toBe("xz");
    expect(compressionFromCompressorName("lz4")).toBe("unknown");
  });
});
