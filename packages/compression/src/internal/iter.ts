import { throwIfAborted } from "@stevedore/types";

/** Calls `return()` on an iterator the caller no longer wants, ignoring its failure. */
export async function closeQuietly(it: AsyncIterator<unknown>): Promise<void> {
  try {
    await it.return?.();
  } catch {
    // the consumer is no longer interested in this stream's errors
  }
}

/** A promise that resolves when `signal` aborts, and a function that stops listening. */
export function abortPromise(signal: AbortSignal | undefined): { promise: Promise<void>; dispose: () => void } {
  if (!signal) return { promise: new Promise(() => {}), dispose: () => {} };
  let dispose = () => {};
  const promise = new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const onAbort = () => resolve();
    signal.addEventListener("abort", onAbort, { once: true });
    dispose = () => signal.removeEventListener("abort", onAbort);
  });
  return { promise, dispose };
}

/**
 * Pulls from `it` with `next()`, which throws AbortError as soon as `signal`
 * aborts, even while the source has not answered; `close()` then closes the
 * source once that pending pull settles, without waiting for it.
 */
export function nextOrAbort(
  it: AsyncIterator<Uint8Array>,
  signal: AbortSignal | undefined,
): { next: () => Promise<IteratorResult<Uint8Array>>; close: () => Promise<void> } {
  let pending: Promise<unknown> | undefined;
  return {
    async next() {
      throwIfAborted(signal);
      const p = it.next();
      pending = p;
      if (!signal) {
        const r = await p;
        pending = undefined;
        return r;
      }
      const abort = abortPromise(signal);
      try {
        const r = await Promise.race([p, abort.promise]);
        throwIfAborted(signal);
        pending = undefined;
        return r as IteratorResult<Uint8Array>;
      } finally {
        abort.dispose();
      }
    },
    async close() {
      const p = pending;
      if (p) void p.then(() => closeQuietly(it), () => {});
      else await closeQuietly(it);
    },
  };
}
