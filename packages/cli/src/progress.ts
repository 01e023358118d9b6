import type { ProgressEvent, ProgressListener } from "@stevedore/types";

/** `--progress` modes. */
export type ProgressMode = "auto" | "tty" | "plain" | "json" | "none";
export const PROGRESS_MODES: readonly ProgressMode[] = ["auto", "tty", "plain", "json", "none"];

function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1073741824) return `${(n / 1048576).toFixed(1)} MiB`;
  return `${(n / 1073741824).toFixed(2)} GiB`;
}

function short(d: string | undefined): string {
  return d === undefined ? "(unknown)" : d.slice(d.indexOf(":") + 1, d.indexOf(":") + 13);
}

interface Blob {
  done: number;
  total: number;
}

/**
 * Progress for humans and scripts, on stderr:
 * - `tty`: a bar per blob being copied, redrawn in place;
 * - `plain`: one summary line every `intervalMs` while bytes move (CI logs);
 * - `json`: every event as one JSON line (NDJSON);
 * - `auto`: `tty` on a terminal, else `plain`; `none`: nothing.
 */
export function createProgressPrinter(options: {
  mode: ProgressMode;
  isTTY: boolean;
  write: (text: string) => void;
  intervalMs?: number;
  now?: () => number;
}): { listener: ProgressListener | undefined; finish(): void } {
  const { write } = options;
  const now = options.now ?? Date.now;
  const mode = options.mode === "auto" ? (options.isTTY ? "tty" : "plain") : options.mode;
  if (mode === "none") return { listener: undefined, finish() {} };
  if (mode === "json") {
    return {
      listener: (e: ProgressEvent) => {
        const { artifact, ...rest } = e as ProgressEvent & { artifact?: { digest?: string; size: number; mediaType?: string } };
        write(JSON.stringify(artifact ? { ...rest, digest: artifact.digest, size: artifact.size, mediaType: artifact.mediaType } : rest) + "\n");
      },
      finish() {},
    };
  }
  const active = new Map<string, Blob>();
  let moved = 0;
  let lastDraw = 0;
  let lastMoved = 0;
  let lastRateAt = now();
  let drawnLines = 0;
  const interval = options.intervalMs ?? (mode === "tty" ? 100 : 5000);

  const rate = () => {
    const t = now();
    const r = ((moved - lastMoved) / Math.max(1, t - lastRateAt)) * 1000;
    lastMoved = moved;
    lastRateAt = t;
    return r;
  };
  const bar = (b: Blob) => {
    if (b.total <= 0) return `${size(b.done)}`;
    const width = 24;
    const filled = Math.min(width, Math.round((b.done / b.total) * width));
    return `[${"=".repeat(filled)}${" ".repeat(width - filled)}] ${size(b.done)} / ${size(b.total)}`;
  };
  const draw = (force = false) => {
    const t = now();
    if (!force && t - lastDraw < interval) return;
    lastDraw = t;
    if (mode === "tty") {
      const lines = [...active.entries()].map(([d, b]) => `Copying blob ${short(d)} ${bar(b)}`);
      let out = drawnLines > 0 ? `\x1b[${drawnLines}A` : "";
      for (const l of lines) out += `\r\x1b[K${l}\n`;
      for (let i = lines.length; i < drawnLines; i++) out += "\r\x1b[K\n";
      const extra = drawnLines - lines.length;
      if (extra > 0) out += `\x1b[${extra}A`;
      drawnLines = lines.length;
      if (out) write(out);
    } else if (moved > 0) {
      const parts = [...active.entries()].map(([d, b]) => `${short(d)} ${size(b.done)}${b.total > 0 ? `/${size(b.total)}` : ""}`);
      write(`Progress: ${size(moved)} copied, ${size(rate())}/s${parts.length ? ` (${parts.join(", ")})` : ""}\n`);
    }
  };
  const listener: ProgressListener = (e) => {
    switch (e.type) {
      case "artifact-started":
        active.set(e.artifact.digest ?? "?", { done: 0, total: e.artifact.size });
        draw();
        break;
      case "artifact-bytes": {
        moved += e.delta;
        const b = active.get(e.artifact.digest ?? "?");
        if (b) b.done = e.offset;
        draw();
        break;
      }
      case "artifact-done":
        active.delete(e.artifact.digest ?? "?");
        if (mode === "tty") draw(true);
        break;
      default:
        break;
    }
  };
  return {
    listener,
    finish() {
      if (mode === "tty" && drawnLines > 0) {
        active.clear();
        draw(true);
      }
    },
  };
}
