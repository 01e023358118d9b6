import { describe, expect, test } from "vitest";
import { compressStream, decompressStream, detectCompressionBytes, InvalidCompressedDataError } from "@stevedore/compression";
import { UnsupportedError, streamOf } from "@stevedore/types";
import { chunked, collect, randomBytes, runTool, sha256, textBytes, thrown } from "./helpers.js";

const text = textBytes(3 * 1024 * 1024);
const noise = randomBytes(1024 * 1024 + 17);

describe("compressStream() and decompressStream() round trips", () => {
  const cases: ["gzip" | "zstd", number[]][] = [
    ["gzip", [0, 1, 6, 9]],
    ["zstd", [1, 3, 9, 19]],
  ];
  for (const [alg, levels] of cases) {
    for (const level of levels) {
      test(`${alg} level ${level}: compressStream() then decompressStream() returns the original bytes`, async () => {
        for (const data of [text, noise]) {
          const input = level >= 19 ? data.subarray(0, 512 * 1024) : data; // level 19 is slow
          const compressed = await collect(compressStream(chunked(input, 100_000), alg, { level }));
          expect(detectCompressionBytes(compressed)).toBe(alg);
          const back = await collect(decompressStream(chunked(compressed, 65_536), alg));
          expect(sha256(back)).toBe(sha256(input));
        }
      });
    }
  }

  test("higher levels compress text smaller than lower ones", async () => {
    const size = async (alg: "gzip" | "zstd", level: number) => (await collect(compressStream(chunked(text), alg, { level }))).byteLength;
    expect(await size("gzip", 9)).toBeLessThan(await size("gzip", 1));
    expect(await size("zstd", 12)).toBeLessThan(await size("zstd", 1));
    expect(await size("gzip", 0)).toBeGreaterThan(text.byteLength); // level 0 stores
  });

  for (const alg of ["gzip", "zstd"] as const) {
    test(`${alg}: an empty stream compresses to a valid empty ${alg} stream`, async () => {
      const compressed = await collect(compressStream(streamOf(), alg));
      expect(compressed.byteLength).toBeGreaterThan(0);
      expect((await collect(decompressStream(chunked(compressed), alg))).byteLength).toBe(0);
      expect(runTool(alg, ["-d", "-c"], compressed).byteLength).toBe(0);
    });

    test(`${alg}: input arriving one byte per chunk compresses and decompresses`, async () => {
      const small = text.subarray(0, 20_000);
      const compressed = await collect(compressStream(chunked(small, 1), alg));
      const back = await collect(decompressStream(chunked(compressed, 1), alg));
      expect(Buffer.compare(back, small)).toBe(0);
    });
  }

  test("decompressStream() reads zstd:chunked data as zstd", async () => {
    const compressed = await collect(compressStream(chunked(text), "zstd"));
    expect(sha256(await collect(decompressStream(chunked(compressed), "zstd:chunked")))).toBe(sha256(text));
  });
});

describe("interoperability with the gzip and zstd tools", () => {
  for (const level of [1, 6, 9]) {
    test(`our gzip level ${level} output decompresses with gzip -d`, async () => {
      const compressed = await collect(compressStream(chunked(text), "gzip", { level }));
      expect(sha256(runTool("gzip", ["-d", "-c"], compressed))).toBe(sha256(text));
    });
  }
  for (const level of [1, 3, 19]) {
    test(`our zstd level ${level} output decompresses with zstd -d (checksum verified)`, async () => {
      const input = level >= 19 ? text.subarray(0, 512 * 1024) : text;
      const compressed = await collect(compressStream(chunked(input), "zstd", { level }));
      expect(sha256(runTool("zstd", ["-d", "-c", "-q"], compressed))).toBe(sha256(input));
      // the frame header's descriptor has the content-checksum flag, as the zstd tool writes by default
      expect(compressed[4]! & 0x04).toBe(0x04);
    });
  }

  for (const args of [["-1"], ["-6"], ["-9"], ["-n", "-9"]]) {
    test(`gzip ${args.join(" ")} output decompresses with ours`, async () => {
      const compressed = runTool("gzip", ["-c", ...args], text);
      expect(sha256(await collect(decompressStream(chunked(compressed, 10_000), "gzip")))).toBe(sha256(text));
    });
  }
  for (const args of [["-1"], ["-3"], ["-19"], ["--no-check"], ["-T2", "-3"], ["--long=24", "-3"]]) {
    test(`zstd ${args.join(" ")} output decompresses with ours`, async () => {
      const input = args.includes("-19") ? text.subarray(0, 512 * 1024) : text;
      const compressed = runTool("zstd", ["-q", "-c", ...args], input);
      expect(sha256(await collect(decompressStream(chunked(compressed, 10_000), "zstd")))).toBe(sha256(input));
    });
  }

  test("concatenated gzip members decompress as one stream", async () => {
    const a = runTool("gzip", ["-c"], text.subarray(0, 100_000));
    const b = runTool("gzip", ["-c"], noise);
    const both = Buffer.concat([a, b]);
    for (const size of [1 << 20, 4096, 7]) {
      const back = await collect(decompressStream(chunked(both, size), "gzip"));
      expect(sha256(back)).toBe(sha256(Buffer.concat([text.subarray(0, 100_000), noise])));
    }
  });

  test("concatenated zstd frames decompress as one stream, wherever the chunks split them", async () => {
    const a = runTool("zstd", ["-q", "-c"], text.subarray(0, 100_000));
    const b = runTool("zstd", ["-q", "-c"], noise);
    const c = await collect(compressStream(chunked(text.subarray(5, 5000)), "zstd"));
    const all = Buffer.concat([a, b, c, a]);
    const expected = sha256(Buffer.concat([text.subarray(0, 100_000), noise, text.subarray(5, 5000), text.subarray(0, 100_000)]));
    for (const size of [all.byteLength, 1 << 20, 65_536, 1000, 1]) {
      expect(sha256(await collect(decompressStream(chunked(all, size), "zstd")))).toBe(expected);
    }
  });

  test("zstd skippable frames (as zstd:chunked writes) are skipped", async () => {
    const skippable = Buffer.alloc(8 + 5);
    skippable.writeUInt32LE(0x184d2a5e, 0);
    skippable.writeUInt32LE(5, 4);
    const frame = runTool("zstd", ["-q", "-c"], text.subarray(0, 5000));
    const data = Buffer.concat([skippable, frame, skippable, frame, skippable]);
    const back = await collect(decompressStream(chunked(data, 3), "zstd"));
    expect(Buffer.compare(back, Buffer.concat([text.subarray(0, 5000), text.subarray(0, 5000)]))).toBe(0);
  });
});

describe("compressStream() options", () => {
  test("compressStream() rejects levels outside the algorithm's range with UnsupportedError", () => {
    expect(() => compressStream(streamOf(), "gzip", { level: 10 })).toThrow(UnsupportedError);
    expect(() => compressStream(streamOf(), "gzip", { level: -1 })).toThrow(/gzip compression level -1 is not supported \(use an integer from 0 to 9\)/);
    expect(() => compressStream(streamOf(), "zstd", { level: 0 })).toThrow(UnsupportedError);
    expect(() => compressStream(streamOf(), "zstd", { level: 23 })).toThrow(UnsupportedError);
    expect(() => compressStream(streamOf(), "zstd", { level: 2.5 })).toThrow(UnsupportedError);
  });

  test("compressStream() with bzip2, xz or zstd:chunked throws UnsupportedError", () => {
    for (const alg of ["bzip2", "xz", "zstd:chunked"] as const) {
      expect(() => compressStream(streamOf(), alg)).toThrow(UnsupportedError);
      expect(() => compressStream(streamOf(), alg)).toThrow(/not supported/);
    }
  });

  test("the default levels are gzip 6 and zstd 3", async () => {
    const data = text.subarray(0, 500_000);
    const gz = await collect(compressStream(chunked(data), "gzip"));
    const gz6 = await collect(compressStream(chunked(data), "gzip", { level: 6 }));
    expect(Buffer.compare(gz, gz6)).toBe(0);
    const zs = await collect(compressStream(chunked(data), "zstd"));
    const zs3 = await collect(compressStream(chunked(data), "zstd", { level: 3 }));
    expect(Buffer.compare(zs, zs3)).toBe(0);
  });

  test("a decompression error names the algorithm", async () => {
    const err = await thrown(collect(decompressStream(chunked(text.subarray(0, 100)), "gzip")));
    expect(err).toBeInstanceOf(InvalidCompressedDataError);
    expect((err as Error).message).toMatch(/^invalid gzip data: /);
  });
});
