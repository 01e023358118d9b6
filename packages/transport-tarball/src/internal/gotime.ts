/**
 * A time in nanoseconds since the epoch as Go's `time.Time` marshals to JSON
 * (RFC 3339 with nanoseconds, trailing zeros of the fraction dropped), in
 * UTC. Undefined for years outside 0–9999, which Go refuses to marshal.
 */
export function formatGoTime(ns: bigint): string | undefined {
  const billion = 1_000_000_000n;
  let secs = ns / billion;
  let frac = ns % billion;
  if (frac < 0n) {
    frac += billion;
    secs -= 1n;
  }
  const d = new Date(Number(secs) * 1000);
  const year = d.getUTCFullYear();
  if (!Number.isFinite(year) || year < 0 || year > 9999) return undefined;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  let s = `${p(year, 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}T${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  if (frac !== 0n) s += "." + frac.toString().padStart(9, "0").replace(/0+$/, "");
  return s + "Z";
}
