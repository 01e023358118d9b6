import type { Transform } from "node:stream";
import {
  InternalError,
  throwIfAborted,
  type BlobStream,
  type CompressionAlgorithmName,
} from "@stevedore/types";
import { InvalidCompressedDataError } from "../errors.js";
import { closeQuietly } from "./iter.js";

/** A zlib stream as Node makes them (gzip, gunzip, zstd): a Transform that also counts consumed input. */
export type ZlibTransform = Transform & { bytesWritten: number };

/**
 * Sizes that decide throughput and memory. Each zlib write and each filled
 * output buffer is one round trip to libuv's thread pool, so fewer, larger
 * pieces are faster; all of them together bound the memory one stream holds.
 */
export const Tuning = {
  /**
   * zlib's output buffer (`chunkSize`): the largest output chunk. 1 MiB:
   * zstd compresses incompressible data several times faster into large
   * buffers, and decompression makes fewer round trips.
   */
  outputChunk: 1024 * 1024,
  /** The zlib stream's readable high-water mark. */
  readableHighWaterMark: 256 * 1024,
  /** Pause the zlib stream when this much output waits for the consumer. */
  outputQueueLimit: 256 * 1024,
  /** Write at once when the engine is idle and at least this much input is gathered. */
  minWrite: 64 * 1024,
  /** Gather at most this much input while the engine works on the previous write. */
  maxWrite: 1024 * 1024,
};

/** How {@link pipeThroughZlib} runs one algorithm. */
export interface ZlibPipeOptions {
  /** The algorithm, for error messages. */
  algorithm: CompressionAlgorithmName;
  /** Whether the engine decompresses (errors then mean corrupt input). */
  decompress: boolean;
  /** Makes a fresh engine; called again for each further stream after one ends (concatenated frames/members). */
  create: () => ZlibTransform;
  signal?: AbortSignal | undefined;
}

/** Node's zlib errors carry a code such as `Z_DATA_ERROR` or `Z_BUF_ERROR`. */
function describeZlibError(e: unknown): string {
  const err = e as { code?: unknown; message?: unknown };
  const message = typeof err?.message === "string" ? err.message : String(e);
  if (err?.code === "Z_BUF_ERROR") return `${message} (the data is truncated or corrupt)`;
  return message;
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.byteLength;
  }
  return out;
}

/**
 * Runs `source` through Node zlib engines and yields what they produce.
 *
 * One loop does everything, so nothing runs behind the consumer's back: it
 * hands the engine at most one write at a time (gathering input from the
 * source while the engine works, up to {@link Tuning.maxWrite}), pauses the
 * engine when {@link Tuning.outputQueueLimit} bytes wait for the consumer, and
 * pulls from the source only while the engine needs input. Memory is thus
 * bounded by those sizes plus the engine's own window, whatever the length of
 * the stream.
 *
 * When an engine stops consuming input before the input ends (a zstd frame or
 * a gzip member ended and more bytes follow), the rest is fed to a fresh
 * engine: concatenated streams decompress as one, and trailing bytes that are
 * not another stream fail with {@link InvalidCompressedDataError}.
 *
 * Aborting `signal` destroys the engine and makes the iteration throw
 * {@link AbortError}; a consumer that stops early (break/return) also destroys
 * it and closes the source.
 */
export async function* pipeThroughZlib(source: BlobStream, options: ZlibPipeOptions): AsyncGenerator<Uint8Array, void, undefined> {
  const { signal, algorithm } = options;
  throwIfAborted(signal);
  const it = source[Symbol.asyncIterator]();

  // Everything the loop waits for resolves `wake`.
  let wakeResolve: (() => void) | undefined;
  let woken = false;
  const wake = () => {
    woken = true;
    const r = wakeResolve;
    wakeResolve = undefined;
    r?.();
  };
  const sleep = () => {
    if (woken) {
      woken = false;
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      wakeResolve = () => {
        woken = false;
        resolve();
      };
    });
  };

  let aborted = false;

  // Source state: at most one pull is outstanding; its outcome is picked up by the loop.
  let sourceDone = false;
  let sourcePending = false;
  let sourceResult: IteratorResult<Uint8Array> | undefined;
  let sourceError: { error: unknown } | undefined;
  let sourceSettled: Promise<void> = Promise.resolve();
  const pullSource = () => {
    sourcePending = true;
    sourceSettled = it.next().then(
      (r) => {
        sourcePending = false;
        sourceResult = r;
        wake();
      },
      (error: unknown) => {
        sourcePending = false;
        sourceDone = true;
        sourceError = { error };
        wake();
      },
    );
  };

  // Input gathered but not yet handed to the engine.
  let gathered: Uint8Array[] = [];
  let gatheredBytes = 0;

  // Engine state.
  let z!: ZlibTransform;
  let engineError: { error: unknown } | undefined;
  let engineEnded = false;
  let inflight = false;
  let endCalled = false;
  let writtenTotal = 0;
  let lastWrite: Uint8Array | undefined;
  const out: Uint8Array[] = [];
  let outBytes = 0;
  let paused = false;

  const start = () => {
    const engine = options.create();
    z = engine;
    engineEnded = false;
    inflight = false;
    endCalled = false;
    writtenTotal = 0;
    lastWrite = undefined;
    paused = false;
    engine.on("data", (c: Uint8Array) => {
      if (engine !== z) return;
      out.push(c);
      outBytes += c.byteLength;
      if (outBytes >= Tuning.outputQueueLimit && !paused) {
        paused = true;
        engine.pause();
      }
      wake();
    });
    engine.on("end", () => {
      if (engine !== z) return;
      engineEnded = true;
      wake();
    });
    engine.on("error", (error: unknown) => {
      // An engine that stopped at the end of its stream may still complain
      // about input written after that point: that input is re-fed elsewhere.
      if (engine !== z || stoppedEarly()) return;
      engineError ??= { error };
      wake();
    });
  };

  const write = (chunk: Uint8Array) => {
    const engine = z;
    inflight = true;
    lastWrite = chunk;
    writtenTotal += chunk.byteLength;
    engine.write(chunk, () => {
      if (engine !== z) return;
      inflight = false;
      wake();
    });
  };

  /** Whether the engine's stream ended before all the input written to it was consumed. */
  const stoppedEarly = () => !inflight && writtenTotal > z.bytesWritten;

  /** The bytes of the last write that the engine did not consume because its stream ended. */
  const leftover = (): Uint8Array | undefined => {
    const unconsumed = writtenTotal - z.bytesWritten;
    if (unconsumed <= 0 || lastWrite === undefined) return undefined;
    return lastWrite.subarray(lastWrite.byteLength - unconsumed);
  };

  const fail = (error: unknown): never => {
    if (options.decompress) throw new InvalidCompressedDataError(algorithm, describeZlibError(error), { cause: error });
    throw new InternalError(`${algorithm} compression failed: ${describeZlibError(error)}`, { cause: error });
  };

  const onAbort = () => {
    aborted = true;
    z.destroy();
    wake();
  };
  signal?.addEventListener("abort", onAbort, { once: true });

  start();
  try {
    for (;;) {
      if (aborted) throwIfAborted(signal);
      if (sourceError) throw sourceError.error;

      // 1. Hand output to the consumer first.
      if (out.length > 0) {
        const c = out.shift()!;
        outBytes -= c.byteLength;
        if (paused && outBytes < Tuning.outputQueueLimit) {
          paused = false;
          z.resume();
        }
        yield c;
        continue;
      }
      if (engineError) fail(engineError.error);

      // 2. Take in what the source delivered.
      if (sourceResult) {
        const r = sourceResult;
        sourceResult = undefined;
        if (r.done) sourceDone = true;
        else if (r.value.byteLength > 0) {
          gathered.push(r.value);
          gatheredBytes += r.value.byteLength;
        }
        continue;
      }

      // 3. An engine that ended either finished the input or stopped at the
      //    end of one stream (zstd frame, gzip member) with more bytes to go.
      if (engineEnded) {
        const rest = leftover();
        if (rest) {
          if (z.bytesWritten === 0) {
            throw new InvalidCompressedDataError(algorithm, "unexpected data after the end of the compressed stream");
          }
          gathered.unshift(rest);
          gatheredBytes += rest.byteLength;
          writtenTotal = z.bytesWritten;
        }
        if (gatheredBytes > 0) {
          const old = z;
          start();
          old.destroy();
          continue;
        }
        if (sourceDone) return;
      }

      // 4. Feed the engine when it is idle.
      if (!engineEnded && !inflight && !endCalled && !stoppedEarly()) {
        if (gatheredBytes > 0 && (gatheredBytes >= Tuning.minWrite || sourceDone)) {
          const chunk = concat(gathered, gatheredBytes);
          gathered = [];
          gatheredBytes = 0;
          write(chunk);
          continue;
        }
        if (sourceDone && gatheredBytes === 0) {
          endCalled = true;
          z.end();
          continue;
        }
      }

      // 5. Read ahead while the engine works, or read what it needs when idle.
      if (!sourceDone && !sourcePending && gatheredBytes < Tuning.maxWrite) {
        pullSource();
        continue;
      }

      // 6. Nothing to do until the engine, the source or the signal says something.
      await sleep();
    }
  } finally {
    signal?.removeEventListener("abort", onAbort);
    z.destroy();
    if (!sourceDone) {
      // A pull still in flight is left to settle; the source is closed after it.
      if (sourcePending) void sourceSettled.then(() => closeQuietly(it));
      else await closeQuietly(it);
    }
  }
}
