import { describe, expect, test } from "vitest";
import { autoDecompress, decompressStream } from "@stevedore/compression";
import { streamOf, UnsupportedError } from "@stevedore/types";
import { chunked, collect, observed, randomBytes, runTool, sha256, settle, textBytes, thrown } from "./helpers.js";

const text = textBytes(2 * 1024 * 1024 + 3);
const noise = randomBytes(600_000, 3);
/** Long runs exercise bzip2's first run-length stage (runs of 4+ and their counts). */
const runs = Buffer.concat([
  Buffer.alloc(1_000_000, 0x61),
  Buffer.from("abcd".repeat(1000)),
  Buffer.alloc(5, 0x62),
  Buffer.alloc(4, 0x63),
  Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]),
  Buffer.alloc(259, 0x64),
]);

describe("bzip2 decompression", () => {
  for (const level of ["-1", "-9"]) {
    for (const [name, data] of [["text", text], ["random data", noise], ["long runs", runs]] as const) {
      test(`bzip2 ${level} output of ${name} decompresses to the original`, async () => {
        const compressed = runTool("bzip2", ["-c", level], data);
        const back = await collect(decompressStream(chunked(compressed, 65_536), "bzip2"));
        expect(back.byteLength).toBe(data.byteLength);
        expect(sha256(back)).toBe(sha256(data));
      });
    }
  }

  test("bzip2 output that arrives one byte per chunk decompresses", async () => {
    const data = text.subarray(0, 30_000);
    const compressed = runTool("bzip2", ["-c"], data);
    expect(Buffer.compare(await collect(decompressStream(chunked(compressed, 1), "bzip2")), data)).toBe(0);
  });

  test("an empty bzip2 stream (no blocks) decompresses to nothing", async () => {
    const compressed = runTool("bzip2", ["-c"], new Uint8Array(0));
    expect((await collect(decompressStream(chunked(compressed), "bzip2"))).byteLength).toBe(0);
  });

  test("concatenated bzip2 streams (as pbzip2 writes) decompress as one", async () => {
    const a = runTool("bzip2", ["-c", "-1"], noise);
    const b = runTool("bzip2", ["-c", "-9"], text);
    const c = runTool("bzip2", ["-c"], new Uint8Array(0));
    const all = Buffer.concat([a, c, b, a]);
    const back = await collect(decompressStream(chunked(all, 12_345), "bzip2"));
    expect(sha256(back)).toBe(sha256(Buffer.concat([noise, text, noise])));
  });

  test("a bzip2 bomb is decompressed in bounded chunks, only as the consumer reads", async () => {
    // 200 MB of one byte compress to well under a kilobyte.
    const bomb = runTool("bzip2", ["-c", "-9"], Buffer.alloc(200 * 1024 * 1024, 0x7a));
    expect(bomb.byteLength).toBeLessThan(1024);
    const it = decompressStream(chunked(bomb), "bzip2")[Symbol.asyncIterator]();
    let seen = 0;
    for (let i = 0; i < 10; i++) {
      const r = await it.next();
      expect(r.done).toBe(false);
      expect(r.value!.byteLength).toBeLessThanOrEqual(256 * 1024);
      expect(r.value!.every((b: number) => b === 0x7a)).toBe(true);
      seen += r.value!.byteLength;
    }
    expect(seen).toBeLessThan(3 * 1024 * 1024);
    await it.return!();
  });
});

describe("xz decompression", () => {
  for (const args of [["-0"], ["-6"], ["-9"], ["-e", "-3"], ["--check=none"], ["--check=crc32"], ["-T2", "--block-size=300000"]]) {
    test(`xz ${args.join(" ")} output decompresses to the original`, async () => {
      for (const data of [text, noise]) {
        const compressed = runTool("xz", ["-c", ...args], data);
        expect(sha256(await collect(decompressStream(chunked(compressed, 65_536), "xz")))).toBe(sha256(data));
      }
    });
  }

  test("xz data with a SHA-256 check or a BCJ/delta filter throws UnsupportedError", async () => {
    for (const args of [["--check=sha256"], ["--x86", "--lzma2"], ["--delta=dist=4", "--lzma2"]]) {
      const compressed = runTool("xz", ["-c", ...args], text.subarray(0, 10_000));
      const err = await thrown(collect(decompressStream(chunked(compressed), "xz")));
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as Error).message).toMatch(/SHA-256.*BCJ.*not supported/);
    }
  });

  test("xz output that arrives one byte per chunk decompresses", async () => {
    const data = text.subarray(0, 30_000);
    const compressed = runTool("xz", ["-c"], data);
    expect(Buffer.compare(await collect(decompressStream(chunked(compressed, 1), "xz")), data)).toBe(0);
  });

  test("concatenated xz streams and an empty xz stream decompress", async () => {
    const a = runTool("xz", ["-c"], noise);
    const e = runTool("xz", ["-c"], new Uint8Array(0));
    expect((await collect(decompressStream(chunked(e), "xz"))).byteLength).toBe(0);
    const back = await collect(decompressStream(chunked(Buffer.concat([a, e, a]), 50_000), "xz"));
    expect(sha256(back)).toBe(sha256(Buffer.concat([noise, noise])));
  });

  test("several xz streams decompressed at the same time all come out right", async () => {
    const inputs = [text, noise, text.subarray(0, 1000), runs];
    const results = await Promise.all(
      inputs.map(async (data) => sha256(await collect(decompressStream(chunked(runTool("xz", ["-c"], data), 10_000), "xz")))),
    );
    expect(results).toEqual(inputs.map((d) => sha256(d)));
  });

  test("xz decompression pulls its input only as the consumer reads", async () => {
    const compressed = runTool("xz", ["-c", "-0"], randomBytes(8 * 1024 * 1024, 9));
    const source = observed(chunked(compressed, 16 * 1024));
    const it = decompressStream(source.stream, "xz")[Symbol.asyncIterator]();
    await it.next();
    await settle();
    expect(source.pulledBytes()).toBeLessThan(1024 * 1024);
    await it.return!();
    expect(source.closed()).toBe(true);
  });
});

describe("autoDecompress()", () => {
  const data = text.subarray(0, 200_000);
  const made = {
    gzip: () => runTool("gzip", ["-c"], data),
    zstd: () => runTool("zstd", ["-q", "-c"], data),
    bzip2: () => runTool("bzip2", ["-c"], data),
    xz: () => runTool("xz", ["-c"], data),
  };
  for (const [alg, make] of Object.entries(made)) {
    test(`autoDecompress() detects ${alg} and decompresses it`, async () => {
      const { algorithm, stream } = await autoDecompress(chunked(make(), 1000));
      expect(algorithm).toBe(alg);
      expect(Buffer.compare(await collect(stream), data)).toBe(0);
    });
  }

  test("autoDecompress() passes uncompressed data through unchanged", async () => {
    const { algorithm, stream } = await autoDecompress(chunked(data, 3));
    expect(algorithm).toBeUndefined();
    expect(Buffer.compare(await collect(stream), data)).toBe(0);
    const empty = await autoDecompress(streamOf());
    expect(empty.algorithm).toBeUndefined();
    expect((await collect(empty.stream)).byteLength).toBe(0);
  });
});
