import { createHash } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, test } from "vitest";
import { compressStream, decompressStream } from "@stevedore/compression";
import type { BlobStream } from "@stevedore/types";
import { chunked, observed, prng, randomBytes, runTool, settle } from "./helpers.js";

const MiB = 1024 * 1024;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/**
 * Live memory (heap + array buffers) after a full collection. V8 frees array
 * buffers' memory on a background thread after a collection, so this waits
 * a moment and collects again before reading the numbers.
 */
async function liveBytes(): Promise<number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 5));
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * `total` bytes of half-compressible data made on the fly in 64 KiB chunks,
 * hashing what it yields so the test can compare without keeping it.
 */
function generated(total: number): { stream: BlobStream; digest: () => string } {
  const hash = createHash("sha256");
  const next = prng(42);
  async function* gen() {
    const line = new TextEncoder();
    for (let made = 0; made < total; ) {
      const chunk = new Uint8Array(Math.min(64 * 1024, total - made));
      for (let i = 0; i < chunk.byteLength; ) {
        const bytes = line.encode(`line ${made + i} value=${next().toString(36)} ${next() % 7 === 0 ? "WARN" : "INFO"}\n`);
        const n = Math.min(bytes.byteLength, chunk.byteLength - i);
        chunk.set(bytes.subarray(0, n), i);
        i += n;
      }
      made += chunk.byteLength;
      hash.update(chunk);
      yield chunk;
    }
  }
  return { stream: gen(), digest: () => hash.digest("hex") };
}

describe("large streams", () => {
  for (const alg of ["gzip", "zstd"] as const) {
    test(`${alg}: 64 MiB made lazily round-trip through compressStream() and decompressStream() with bounded memory`, async () => {
      const total = 64 * MiB;
      const source = generated(total);
      const base = await liveBytes();
      let peak = 0;
      let seen = 0;
      let sinceCheck = 0;
      const out = createHash("sha256");
      for await (const c of decompressStream(compressStream(source.stream, alg, { level: 1 }), alg)) {
        out.update(c);
        seen += c.byteLength;
        sinceCheck += c.byteLength;
        if (sinceCheck >= 4 * MiB) {
          sinceCheck = 0;
          peak = Math.max(peak, (await liveBytes()) - base);
        }
      }
      expect(seen).toBe(total);
      expect(out.digest("hex")).toBe(source.digest());
      // Buffering the whole stream would need 64 MiB; the pipeline holds a few.
      expect(peak).toBeLessThan(16 * MiB);
    });
  }

  test("bzip2: a 16 MiB file from the bzip2 tool decompresses with bounded memory", async () => {
    const plain = Buffer.concat(Array.from({ length: 16 }, (_, i) => randomBytes(MiB, i + 1)).map((b, i) => (i % 2 ? b : Buffer.alloc(MiB, i))));
    const compressed = runTool("bzip2", ["-c", "-9"], plain);
    const expected = createHash("sha256").update(plain).digest("hex");
    const base = await liveBytes();
    let peak = 0;
    let i = 0;
    const out = createHash("sha256");
    for await (const c of decompressStream(chunked(compressed, 64 * 1024), "bzip2")) {
      out.update(c);
      if (++i % 32 === 0) peak = Math.max(peak, (await liveBytes()) - base);
    }
    expect(out.digest("hex")).toBe(expected);
    expect(peak).toBeLessThan(16 * MiB);
  });

  for (const [alg, make] of [
    ["gzip", (d: Uint8Array) => runTool("gzip", ["-c", "-1"], d)],
    ["zstd", (d: Uint8Array) => runTool("zstd", ["-q", "-c", "-1"], d)],
    ["bzip2", (d: Uint8Array) => runTool("bzip2", ["-c", "-1"], d)],
  ] as const) {
    test(`${alg}: decompressStream() pulls the source only as the consumer reads`, async () => {
      const compressed = make(randomBytes(16 * MiB, 8));
      const source = observed(chunked(compressed, 16 * 1024));
      const it = decompressStream(source.stream, alg)[Symbol.asyncIterator]();
      await it.next();
      await settle(200);
      const early = source.pulledBytes();
      // a bounded read-ahead (a couple of MiB), not the whole 16 MiB
      expect(early).toBeLessThan(3 * MiB);
      await it.next();
      await settle(50);
      expect(source.pulledBytes()).toBeLessThan(3 * MiB);
      await it.return!();
      expect(source.closed()).toBe(true);
    });
  }

  for (const alg of ["gzip", "zstd"] as const) {
    test(`${alg}: compressStream() pulls the source only as the consumer reads`, async () => {
      const source = observed(chunked(randomBytes(32 * MiB, 3), 16 * 1024));
      const it = compressStream(source.stream, alg, { level: 1 })[Symbol.asyncIterator]();
      await it.next();
      await settle(200);
      expect(source.pulledBytes()).toBeLessThan(4 * MiB);
      await it.return!();
      expect(source.closed()).toBe(true);
    });
  }
});
