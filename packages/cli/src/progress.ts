import type { ProgressEvent, ProgressListener } from "@stevedore/types";

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}

/**
 * Progress for humans: on a terminal, one line per blob, rewritten in place;
 * elsewhere (CI logs), one summary line every `intervalMs` while bytes move.
 * `--progress json` writes every event as a JSON line instead.
 */
export function createProgressPrinter(options: {
  mode: "auto" | "json" | "none";
  isTTY: boolean;
  write: (text: string) => void;
  intervalMs?: number;
}): { listener: ProgressListener | undefined; finish(): void } {
  const { write } = options;
  if (options.mode === "none") return { listener: undefined, finish() {} };
  if (options.mode === "json") {
    return {
      listener: (e: ProgressEvent) => {
        const { artifact, ...rest } = e as ProgressEvent & { artifact?: { digest?: string; size: number } };
        write(JSON.stringify(artifact ? { ...rest, digest: artifact.digest, size: artifact.size } : rest) + "\n");
      },
      finish() {},
    };
  }
  const interval = options.intervalMs ?? 5000;
  const active = new Map<string, { done: number; total: number }>();
  let moved = 0;
  let lastPrint = Date.now();
  let lastMoved = 0;
  const summary = () => {
    const now = Date.now();
    const rate = ((moved - lastMoved) / Math.max(1, now - lastPrint)) * 1000;
    const parts = [...active.entries()].map(([d, p]) => `${d.slice(7, 19)} ${mib(p.done)}${p.total > 0 ? `/${mib(p.total)}` : ""}`);
    lastPrint = now;
    lastMoved = moved;
    return `Progress: ${mib(moved)} copied, ${mib(rate)}/s${parts.length ? ` (${parts.join(", ")})` : ""}`;
  };
  const listener: ProgressListener = (e) => {
    if (e.type === "artifact-started") active.set(e.artifact.digest ?? "?", { done: 0, total: e.artifact.size });
    else if (e.type === "artifact-bytes") {
      moved += e.delta;
      const p = active.get(e.artifact.digest ?? "?");
      if (p) p.done = e.offset;
      if (Date.now() - lastPrint >= interval) {
        if (options.isTTY) write(`\r\x1b[K${summary()}`);
        else write(`${summary()}\n`);
      }
    } else if (e.type === "artifact-done") active.delete(e.artifact.digest ?? "?");
  };
  return {
    listener,
    finish() {
      if (options.isTTY && lastMoved > 0) write("\r\x1b[K");
    },
  };
}
