import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { compressStream, decompressStream, InvalidCompressedDataError } from "@stevedore/compression";
import { InvalidArchiveError, NetworkError, streamOf, UnsupportedError } from "@stevedore/types";
import { chunked, collect, runTool, textBytes, thrown } from "./helpers.js";

const data = textBytes(300_000, 11);
const made = {
  gzip: () => runTool("gzip", ["-c"], data),
  zstd: () => runTool("zstd", ["-q", "-c"], data),
  bzip2: () => runTool("bzip2", ["-c", "-1"], data),
  xz: () => runTool("xz", ["-c"], data),
} as const;
type Alg = keyof typeof made;
const compressed = Object.fromEntries(Object.entries(made).map(([k, f]) => [k, f()])) as Record<Alg, Buffer>;

/** Decompresses and returns what happened: the bytes, or the error. */
async function attempt(alg: Alg, bytes: Uint8Array, chunkSize = 4096): Promise<{ ok: Buffer } | { error: unknown }> {
  try {
    return { ok: await collect(decompressStream(chunked(bytes, chunkSize), alg)) };
  } catch (error) {
    return { error };
  }
}

function expectTyped(alg: Alg, error: unknown): void {
  // xz cannot tell a corrupt header from an unsupported option: both are typed
  if (alg === "xz" && error instanceof UnsupportedError) return;
  expect(error).toBeInstanceOf(InvalidCompressedDataError);
  expect(error).toBeInstanceOf(InvalidArchiveError);
  expect((error as InvalidCompressedDataError).algorithm).toBe(alg);
  expect((error as Error).message).toContain(`invalid ${alg} data`);
}

describe("decompressStream() on truncated input", () => {
  for (const alg of Object.keys(made) as Alg[]) {
    test(`${alg}: every truncation point tried throws InvalidCompressedDataError naming ${alg}`, async () => {
      const full = compressed[alg];
      const cuts = [0, 1, 3, 10, 40, full.byteLength >> 2, full.byteLength >> 1, full.byteLength - 9, full.byteLength - 4, full.byteLength - 1];
      for (const cut of cuts) {
        const r = await attempt(alg, full.subarray(0, cut));
        expect("error" in r, `${alg} cut at ${cut} of ${full.byteLength}`).toBe(true);
        if ("error" in r) expectTyped(alg, r.error);
      }
    });
  }
});

describe("decompressStream() on corrupted input", () => {
  for (const alg of Object.keys(made) as Alg[]) {
    test(`${alg}: overwriting bytes in the middle throws InvalidCompressedDataError`, async () => {
      const bad = Buffer.from(compressed[alg]);
      bad.fill(0x55, bad.byteLength >> 1, (bad.byteLength >> 1) + 64);
      const r = await attempt(alg, bad);
      expect("error" in r).toBe(true);
      if ("error" in r) expectTyped(alg, r.error);
    });

    test(`${alg}: random corruption either throws a typed error or yields the original (property)`, async () => {
      const original = compressed[alg];
      await fc.assert(
        fc.asyncProperty(
          fc.array(fc.record({ at: fc.nat({ max: original.byteLength - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }),
          fc.constantFrom(1000, 65_536),
          async (edits, chunkSize) => {
            const bad = Buffer.from(original);
            for (const e of edits) bad[e.at] = e.value;
            const r = await attempt(alg, bad, chunkSize);
            if ("ok" in r) expect(Buffer.compare(r.ok, data)).toBe(0);
            else expectTyped(alg, r.error);
          },
        ),
        { numRuns: alg === "bzip2" ? 40 : 60 },
      );
    });

    test(`${alg}: input that is not ${alg} at all throws InvalidCompressedDataError`, async () => {
      const r = await attempt(alg, data.subarray(0, 5000));
      expect("error" in r).toBe(true);
      if ("error" in r) expectTyped(alg, r.error);
    });

    test(`${alg}: an empty input throws InvalidCompressedDataError`, async () => {
      const r = await attempt(alg, new Uint8Array(0));
      expect("error" in r).toBe(true);
      if ("error" in r) expectTyped(alg, r.error);
    });
  }

  for (const alg of ["gzip", "zstd", "bzip2", "xz"] as const) {
    test(`${alg}: bytes after the end that are not another ${alg} stream throw InvalidCompressedDataError`, async () => {
      const withGarbage = Buffer.concat([compressed[alg], Buffer.from("this is not compressed data")]);
      for (const chunkSize of [1 << 20, 4096]) {
        const r = await attempt(alg, withGarbage, chunkSize);
        expect("error" in r, `${alg} chunk ${chunkSize}`).toBe(true);
        if ("error" in r) expectTyped(alg, r.error);
      }
    });
  }
});

describe("decompressStream() and compressStream() with a failing source", () => {
  for (const alg of Object.keys(made) as Alg[]) {
    test(`${alg}: an error of the source comes through unchanged`, async () => {
      const boom = new NetworkError("connection reset by peer");
      const full = compressed[alg];
      async function* failing() {
        yield full.subarray(0, full.byteLength >> 1);
        throw boom;
      }
      expect(await thrown(collect(decompressStream(failing(), alg)))).toBe(boom);
    });
  }

  for (const alg of ["gzip", "zstd"] as const) {
    test(`compressStream(${alg}) passes the source's error through unchanged`, async () => {
      const boom = new NetworkError("connection reset by peer");
      async function* failing() {
        yield data;
        throw boom;
      }
      expect(await thrown(collect(compressStream(failing(), alg)))).toBe(boom);
    });
  }

  test("decompressStream() with an unknown algorithm name throws UnsupportedError", () => {
    expect(() => decompressStream(streamOf(), "lz4" as never)).toThrow(UnsupportedError);
  });
});
