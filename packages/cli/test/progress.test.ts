import { describe, expect, test } from "vitest";
import { parseDigest } from "@stevedore/types";
import { createProgressPrinter } from "../src/progress.js";

const artifact = { digest: parseDigest("sha256:" + "ab".repeat(32)), size: 2 * 1048576 };

function drive(mode: "tty" | "plain" | "json" | "none" | "auto", isTTY = false) {
  let t = 0;
  const out: string[] = [];
  const p = createProgressPrinter({ mode, isTTY, write: (s) => out.push(s), intervalMs: 1000, now: () => t });
  const l = p.listener;
  l?.({ type: "artifact-started", artifact, kind: "layer" });
  for (let i = 1; i <= 4; i++) {
    t += 600;
    l?.({ type: "artifact-bytes", artifact, kind: "layer", offset: i * 524288, delta: 524288 });
  }
  l?.({ type: "artifact-done", artifact, kind: "layer", size: artifact.size });
  p.finish();
  return out;
}

describe("createProgressPrinter()", () => {
  test("plain writes a summary line per interval while bytes move", () => {
    const out = drive("plain");
    expect(out.length).toBe(2);
    expect(out[0]).toMatch(/^Progress: 1\.0 MiB copied, .* \(abababababab 1\.0 MiB\/2\.0 MiB\)\n$/);
  });

  test("tty draws a bar per blob in place and clears it at the end", () => {
    const out = drive("tty").join("");
    expect(out).toContain("Copying blob abababababab [");
    expect(out).toContain("] 1.0 MiB / 2.0 MiB");
    expect(out).toContain("\x1b[1A");
  });

  test("json writes every event as one line", () => {
    const out = drive("json");
    expect(out).toHaveLength(6);
    const events = out.map((l) => JSON.parse(l) as { type: string; digest: string });
    expect(events.map((e) => e.type)).toEqual(["artifact-started", "artifact-bytes", "artifact-bytes", "artifact-bytes", "artifact-bytes", "artifact-done"]);
    expect(events[0]!.digest).toBe(artifact.digest);
  });

  test("none writes nothing; auto picks tty on a terminal and plain elsewhere", () => {
    expect(drive("none")).toEqual([]);
    expect(drive("auto", true).join("")).toContain("Copying blob");
    expect(drive("auto", false)[0]).toMatch(/^Progress:/);
  });
});
