import { describe, expect, test } from "vitest";
import { detectCompression, detectCompressionBytes, MAX_MAGIC_LENGTH } from "@stevedore/compression";
import { AbortError, streamOf } from "@stevedore/types";
import { chunked, collect, observed, runTool, textBytes, thrown } from "./helpers.js";

const plain = textBytes(50_000);
/** The same content as each tool writes it. */
const files = {
  gzip: () => runTool("gzip", ["-c"], plain),
  zstd: () => runTool("zstd", ["-q", "-c"], plain),
  bzip2: () => runTool("bzip2", ["-c"], plain),
  xz: () => runTool("xz", ["-c"], plain),
} as const;

describe("detectCompressionBytes()", () => {
  for (const [alg, make] of Object.entries(files)) {
    test(`detectCompressionBytes() recognises a file written by the ${alg} tool`, () => {
      expect(detectCompressionBytes(make().subarray(0, MAX_MAGIC_LENGTH))).toBe(alg);
    });
  }

  test("detectCompressionBytes() returns undefined for uncompressed data and for prefixes shorter than a magic", () => {
    expect(detectCompressionBytes(plain.subarray(0, 6))).toBeUndefined();
    expect(detectCompressionBytes(new Uint8Array(0))).toBeUndefined();
    expect(detectCompressionBytes(Uint8Array.of(0x1f, 0x8b))).toBeUndefined();
    expect(detectCompressionBytes(Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a))).toBeUndefined();
    // gzip with a compression method other than deflate (08) is not gzip as layers use it
    expect(detectCompressionBytes(Uint8Array.of(0x1f, 0x8b, 0x07, 0, 0, 0))).toBeUndefined();
  });

  test("detectCompressionBytes() looks only at the magic, whatever follows", () => {
    expect(detectCompressionBytes(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd))).toBe("zstd");
    expect(detectCompressionBytes(Uint8Array.of(0x42, 0x5a, 0x68, 0xff, 0xff, 0xff, 0xff))).toBe("bzip2");
    expect(detectCompressionBytes(Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00))).toBe("xz");
  });
});

describe("detectCompression()", () => {
  for (const [alg, make] of Object.entries(files)) {
    test(`detectCompression() finds ${alg} and its stream replays every byte`, async () => {
      const bytes = make();
      const { algorithm, stream } = await detectCompression(chunked(bytes, 4096));
      expect(algorithm).toBe(alg);
      expect(Buffer.compare(await collect(stream), bytes)).toBe(0);
    });

    test(`detectCompression() finds ${alg} in a stream that arrives one byte per chunk`, async () => {
      const bytes = make();
      const source = observed(chunked(bytes, 1));
      const { algorithm, stream } = await detectCompression(source.stream);
      expect(algorithm).toBe(alg);
      // it read only as many chunks as it needed to see the magic
      expect(source.pulledBytes()).toBe(MAX_MAGIC_LENGTH);
      expect(Buffer.compare(await collect(stream), bytes)).toBe(0);
    });
  }

  test("detectCompression() reports uncompressed data as undefined and passes it through unchanged", async () => {
    const { algorithm, stream } = await detectCompression(chunked(plain, 1000));
    expect(algorithm).toBeUndefined();
    expect(Buffer.compare(await collect(stream), plain)).toBe(0);
  });

  test("detectCompression() handles a stream shorter than the magic", async () => {
    const { algorithm, stream } = await detectCompression(streamOf(Uint8Array.of(0x1f), Uint8Array.of(0x8b)));
    expect(algorithm).toBeUndefined();
    expect([...(await collect(stream))]).toEqual([0x1f, 0x8b]);
  });

  test("detectCompression() handles an empty stream and skips empty chunks", async () => {
    const empty = await detectCompression(streamOf());
    expect(empty.algorithm).toBeUndefined();
    expect((await collect(empty.stream)).byteLength).toBe(0);

    async function* withEmpties() {
      yield new Uint8Array(0);
      yield Uint8Array.of(0x28, 0xb5);
      yield new Uint8Array(0);
      yield Uint8Array.of(0x2f, 0xfd, 0x01, 0x02, 0x03);
    }
    const z = await detectCompression(withEmpties());
    expect(z.algorithm).toBe("zstd");
    expect([...(await collect(z.stream))]).toEqual([0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3]);
  });

  test("detectCompression() throws the source's error while peeking, and the replayed stream throws later ones", async () => {
    const boom = new Error("connection reset");
    async function* failsAtOnce(): AsyncGenerator<Uint8Array> {
      throw boom;
    }
    expect(await thrown(detectCompression(failsAtOnce()))).toBe(boom);

    async function* failsLater() {
      yield Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
      throw boom;
    }
    const { stream } = await detectCompression(failsLater());
    expect(await thrown(collect(stream))).toBe(boom);
  });

  test("detectCompression() closes the original when the replayed stream is abandoned", async () => {
    const source = observed(chunked(plain, 100));
    const { stream } = await detectCompression(source.stream);
    for await (const _ of stream) break;
    expect(source.closed()).toBe(true);
  });

  test("detectCompression() with an aborted signal throws AbortError", async () => {
    const c = new AbortController();
    c.abort();
    expect(await thrown(detectCompression(chunked(plain), { signal: c.signal }))).toBeInstanceOf(AbortError);
  });
});
