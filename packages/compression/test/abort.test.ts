import { describe, expect, test } from "vitest";
import { compressStream, decompressStream } from "@stevedore/compression";
import { AbortError, type BlobStream } from "@stevedore/types";
import { chunked, collect, observed, randomBytes, runTool, settle, textBytes, thrown } from "./helpers.js";

const data = textBytes(4 * 1024 * 1024, 5);
const noise = randomBytes(4 * 1024 * 1024, 5);
type Alg = "gzip" | "zstd" | "bzip2" | "xz";
const compressed: Record<Alg, () => Buffer> = {
  gzip: () => runTool("gzip", ["-c", "-1"], noise),
  zstd: () => runTool("zstd", ["-q", "-c"], noise),
  bzip2: () => runTool("bzip2", ["-c", "-1"], data),
  xz: () => runTool("xz", ["-c", "-0"], noise),
};

/** Yields `first`, then never answers again (a connection that hangs). */
function stalls(first: Uint8Array): { stream: BlobStream; closed: () => boolean } {
  let closed = false;
  let step = 0;
  const it: AsyncIterableIterator<Uint8Array> = {
    next: () => (step++ === 0 ? Promise.resolve({ done: false, value: first }) : new Promise(() => {})),
    return: async () => {
      closed = true;
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { stream: it, closed: () => closed };
}

describe("cancelling decompression", () => {
  for (const alg of ["gzip", "zstd", "bzip2", "xz"] as const) {
    test(`${alg}: aborting mid-stream makes the next read throw AbortError and closes the source`, async () => {
      const bytes = compressed[alg]();
      const source = observed(chunked(bytes, 16 * 1024));
      const c = new AbortController();
      const it = decompressStream(source.stream, alg, { signal: c.signal })[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.done).toBe(false);
      c.abort(new Error("user pressed ctrl-c"));
      const err = await thrown(it.next());
      expect(err).toBeInstanceOf(AbortError);
      expect((err as AbortError).cause).toEqual(new Error("user pressed ctrl-c"));
      expect(source.closed()).toBe(true);
      // nothing keeps reading the source after the abort
      const pulled = source.pulledBytes();
      await settle();
      expect(source.pulledBytes()).toBe(pulled);
      expect(pulled).toBeLessThan(bytes.byteLength);
      expect((await it.next()).done).toBe(true);
    });

    test(`${alg}: aborting while the source hangs rejects the pending read with AbortError`, async () => {
      const bytes = compressed[alg]();
      const source = stalls(bytes.subarray(0, 100));
      const c = new AbortController();
      const reading = collect(decompressStream(source.stream, alg, { signal: c.signal }));
      await settle(50);
      c.abort();
      expect(await thrown(reading)).toBeInstanceOf(AbortError);
    });

    test(`${alg}: an already aborted signal throws AbortError before reading anything`, async () => {
      const source = observed(chunked(compressed[alg]()));
      const c = new AbortController();
      c.abort();
      expect(await thrown(collect(decompressStream(source.stream, alg, { signal: c.signal })))).toBeInstanceOf(AbortError);
      expect(source.pulledBytes()).toBe(0);
    });

    test(`${alg}: a consumer that stops early closes the source`, async () => {
      const source = observed(chunked(compressed[alg](), 16 * 1024));
      for await (const _ of decompressStream(source.stream, alg)) break;
      expect(source.closed()).toBe(true);
    });
  }
});

describe("cancelling compression", () => {
  for (const alg of ["gzip", "zstd"] as const) {
    test(`${alg}: aborting mid-stream throws AbortError and stops pulling the source`, async () => {
      const source = observed(chunked(noise, 16 * 1024));
      const c = new AbortController();
      const it = compressStream(source.stream, alg, { signal: c.signal })[Symbol.asyncIterator]();
      await it.next();
      c.abort();
      expect(await thrown(it.next())).toBeInstanceOf(AbortError);
      const pulled = source.pulledBytes();
      await settle();
      expect(source.pulledBytes()).toBe(pulled);
      expect(source.closed()).toBe(true);
    });

    test(`${alg}: aborting while the source hangs rejects with AbortError`, async () => {
      const source = stalls(noise.subarray(0, 1000));
      const c = new AbortController();
      const reading = collect(compressStream(source.stream, alg, { signal: c.signal }));
      await settle(50);
      c.abort();
      expect(await thrown(reading)).toBeInstanceOf(AbortError);
    });
  }
});
