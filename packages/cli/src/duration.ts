import { UsageError } from "./args.js";

/** Parses durations like skopeo's (Go's): 500ms, 30s, 5m, 1h, 1h30m. Returns milliseconds. */
export function parseDuration(s: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let m: RegExpExecArray | null;
  let end = 0;
  while ((m = re.exec(s))) {
    total += Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
    end = re.lastIndex;
  }
  if (end !== s.length || s.length === 0) throw new UsageError(`invalid duration "${s}": use e.g. 500ms, 30s, 5m, 1h30m`);
  return total;
}
