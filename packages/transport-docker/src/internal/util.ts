import { AbortError, throwIfAborted } from "@stevedore/types";

/** Waits `ms` milliseconds; rejects with {@link AbortError} when `signal` aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  throwIfAborted(signal);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      try {
        throwIfAborted(signal);
      } catch (e) {
        reject(e);
      }
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Whether `e` is (or wraps) a cancellation through an AbortSignal. */
export function isAbort(e: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  if (e instanceof AbortError) return true;
  return false;
}

/** A short text for an unknown thrown value. */
export function describe(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const cause = (e as { cause?: unknown }).cause;
    let s = e.message || e.name;
    if (typeof code === "string" && !s.includes(code)) s += ` (${code})`;
    if (cause instanceof Error && cause.message && !s.includes(cause.message)) s += `: ${describe(cause)}`;
    return s;
  }
  return String(e);
}

/** Base64 of a UTF-8 string (for Basic credentials), without Buffer. */
export function base64(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin);
}
