import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { MissingToolError, type BlobStream } from "@stevedore/types";

/** The Debian package of each command-line tool these tests run (as tools/setup-system.sh installs them). */
const PACKAGES: Record<string, string> = { gzip: "gzip", zstd: "zstd", bzip2: "bzip2", xz: "xz-utils" };

const found = new Map<string, string>();

/** The path of `tool`; a missing tool fails the test with the Debian package to install. */
export function requireTool(tool: string): string {
  const cached = found.get(tool);
  if (cached) return cached;
  let path = "";
  try {
    path = execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { encoding: "utf8" }).trim();
  } catch {
    path = "";
  }
  if (!path) {
    throw new MissingToolError(
      `this test needs "${tool}", which is not installed: install the Debian package "${PACKAGES[tool] ?? tool}" (tools/setup-system.sh does)`,
    );
  }
  found.set(tool, path);
  return path;
}

/** Runs a compression tool with `input` on stdin and returns its stdout; a failure throws with its stderr. */
export function runTool(tool: string, args: string[], input: Uint8Array): Buffer {
  return execFileSync(requireTool(tool), args, { input, maxBuffer: 1 << 30, stdio: ["pipe", "pipe", "pipe"] });
}

/** A deterministic pseudo-random generator (xorshift32). */
export function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** `size` bytes of noise: incompressible. */
export function randomBytes(size: number, seed = 1): Uint8Array {
  const next = prng(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const v = next();
    out[i] = v;
    out[i + 1] = v >>> 8;
    out[i + 2] = v >>> 16;
    out[i + 3] = v >>> 24;
  }
  return out;
}

const WORDS = ["layer", "blob", "manifest", "digest", "registry", "pulled", "pushed", "sha256", "INFO", "WARN", "copy", "config"];

/** Log-like text (compresses well, but not trivially), `size` bytes. */
export function textBytes(size: number, seed = 7): Uint8Array {
  const next = prng(seed);
  let s = "";
  let line = 0;
  while (s.length < size) {
    s += `${String(line++).padStart(8, "0")} ${WORDS[next() % WORDS.length]} ${WORDS[next() % WORDS.length]} id=${next().toString(16)} n=${next() % 1000}\n`;
  }
  return new TextEncoder().encode(s.slice(0, size));
}

/** A stream of `data` in chunks of `chunkSize` bytes (1 gives one byte per chunk). */
export async function* chunked(data: Uint8Array, chunkSize = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < data.byteLength; i += chunkSize) yield data.slice(i, Math.min(i + chunkSize, data.byteLength));
}

/** Reads a stream to its end. */
export async function collect(stream: BlobStream): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream) parts.push(c);
  return Buffer.concat(parts);
}

/** The sha256 of bytes, in hex. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/** Awaits `promise` and returns what it threw (failing when it did not throw). */
export async function thrown(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection, but the promise fulfilled");
}

/**
 * Wraps a stream to observe it: how many bytes and chunks were pulled, and
 * whether the consumer closed it (`return()` called).
 */
export function observed(stream: BlobStream): { stream: BlobStream; pulledBytes: () => number; closed: () => boolean } {
  let pulled = 0;
  let closed = false;
  const it = stream[Symbol.asyncIterator]();
  const wrapped: AsyncIterableIterator<Uint8Array> = {
    async next() {
      const r = await it.next();
      if (!r.done) pulled += r.value.byteLength;
      return r;
    },
    async return() {
      closed = true;
      await it.return?.();
      return { done: true, value: undefined };
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
  return { stream: wrapped, pulledBytes: () => pulled, closed: () => closed };
}

/** Lets pending I/O and thread-pool work run for a while (to catch work that happens behind the consumer's back). */
export function settle(ms = 100): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
