/**
 * xz decompression through xz-decompress: xz-embedded compiled to
 * WebAssembly (no native build, nothing downloaded at install). It is loaded
 * on first use.
 *
 * The library shares one WebAssembly instance between all its streams and
 * serialises them with a lock that a cancelled waiter can corrupt, so
 * Stevedore keeps its own queue in front of it: at most one of our xz
 * streams exists at a time, the others wait (and can be aborted while
 * waiting) in order.
 */
import { AbortError, UnsupportedError, throwIfAborted, type BlobStream } from "@stevedore/types";
import { InvalidCompressedDataError } from "../errors.js";
import { abortPromise, closeQuietly } from "./iter.js";

type XzModule = { XzReadableStream: new (compressed: ReadableStream<Uint8Array>) => ReadableStream<Uint8Array> };

let loading: Promise<XzModule> | undefined;

function loadXz(): Promise<XzModule> {
  loading ??= import("xz-decompress").then((m) => {
    const mod = ((m as { default?: unknown }).default ?? m) as Partial<XzModule>;
    if (typeof mod.XzReadableStream !== "function") throw new Error("xz-decompress does not export XzReadableStream");
    return mod as XzModule;
  });
  return loading;
}

/** A first-in, first-out lock whose waiters can give up. */
class Lock {
  private held = false;
  private readonly waiters: (() => void)[] = [];

  async acquire(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(grant);
        if (i >= 0) this.waiters.splice(i, 1);
        try {
          throwIfAborted(signal);
        } catch (e) {
          reject(e);
        }
      };
      this.waiters.push(grant);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

const lock = new Lock();

/** After the input ended, how many empty outputs in a row mean the decoder is stuck on truncated data. */
const MAX_IDLE_AFTER_EOF = 4;

/**
 * Maps a failure of the decoder to a Stevedore error. xz-embedded reports a
 * number (see its `enum xz_ret`); the library puts it in the message.
 */
function xzError(e: unknown, sourceDone: boolean, sourceBytes: number): Error {
  const message = e instanceof Error ? e.message : String(e);
  const code = /error code (\d+)/.exec(message)?.[1];
  switch (code) {
    case "2":
    case "6":
      return new UnsupportedError(
        "xz data that uses an integrity check other than CRC32/CRC64 (e.g. SHA-256) or a filter other than LZMA2 (e.g. BCJ, delta) is not supported (or its headers are corrupt)",
        { cause: e },
      );
    case "3":
    case "4":
      return new UnsupportedError("xz data whose dictionary is larger than 64 MiB is not supported", { cause: e });
    case "5":
      return new InvalidCompressedDataError("xz", "the data does not start with an xz stream header", { cause: e });
    case "7":
      return new InvalidCompressedDataError("xz", "the data is corrupt", { cause: e });
    case "8":
      return new InvalidCompressedDataError("xz", "the data is truncated or corrupt", { cause: e });
  }
  if (sourceDone) {
    return new InvalidCompressedDataError("xz", sourceBytes === 0 ? "the data is empty" : "the data is truncated or corrupt", { cause: e });
  }
  return new InvalidCompressedDataError("xz", `the data is corrupt (${message})`, { cause: e });
}

/** Decompresses xz `source` (concatenated streams and stream padding included). */
export async function* decompressXz(source: BlobStream, signal?: AbortSignal): AsyncGenerator<Uint8Array, void, undefined> {
  throwIfAborted(signal);
  const mod = await loadXz();
  await lock.acquire(signal);
  const it = source[Symbol.asyncIterator]();
  let sourceDone = false;
  let sourceError: { error: unknown } | undefined;
  let sourceBytes = 0;
  let pending: Promise<unknown> | undefined;
  const input = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        for (;;) {
          const p = it.next();
          pending = p;
          let r: IteratorResult<Uint8Array>;
          try {
            r = await p;
          } catch (error) {
            sourceDone = true;
            sourceError = { error };
            throw error;
          } finally {
            pending = undefined;
          }
          if (r.done) {
            sourceDone = true;
            controller.close();
            return;
          }
          // The decoder reads an empty chunk as the end of its input: skip them.
          if (r.value.byteLength > 0) {
            sourceBytes += r.value.byteLength;
            controller.enqueue(r.value);
            return;
          }
        }
      },
    },
    { highWaterMark: 0 },
  );
  const reader = new mod.XzReadableStream(input).getReader();
  let finished = false;
  const abort = abortPromise(signal);
  try {
    let idle = 0;
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await Promise.race([reader.read(), abort.promise.then(() => undefined)]) ?? { done: true, value: undefined };
        throwIfAborted(signal);
      } catch (e) {
        if (e instanceof AbortError) throw e;
        if (sourceError) throw sourceError.error;
        throw xzError(e, sourceDone, sourceBytes);
      }
      if (r.done) {
        finished = true;
        return;
      }
      if (r.value.byteLength > 0) {
        idle = 0;
        yield r.value;
        throwIfAborted(signal);
      } else if (sourceDone && ++idle > MAX_IDLE_AFTER_EOF) {
        throw new InvalidCompressedDataError("xz", "the data is truncated");
      }
    }
  } finally {
    abort.dispose();
    if (!finished) {
      // Cancelling releases the decoder's memory and the library's own lock.
      reader.cancel().catch(() => {});
    }
    if (!sourceDone) {
      if (pending) void pending.then(() => closeQuietly(it), () => {});
      else await closeQuietly(it);
    }
    lock.release();
  }
}
