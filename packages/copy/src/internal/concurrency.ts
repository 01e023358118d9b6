import { AbortError } from "@stevedore/types";

/**
 * Runs `fn` over `items` with at most `limit` at a time, keeping result
 * order. On the first failure the shared signal is aborted so that the
 * others stop early; every task is awaited before the first error is
 * thrown, so nothing is left running.
 */
export async function mapBounded<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const ac = new AbortController();
  const onAbort = () => ac.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  let firstError: unknown;
  let failed = false;
  const worker = async () => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i]!, i, ac.signal);
      } catch (e) {
        if (!failed) {
          failed = true;
          firstError = e;
          ac.abort(e);
        } else if (firstError instanceof AbortError && !(e instanceof AbortError)) {
          // Prefer the real cause over the aborts it triggered.
          firstError = e;
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  if (failed) throw firstError;
  return results;
}
