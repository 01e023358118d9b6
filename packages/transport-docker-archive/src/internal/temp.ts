/**
 * Names of the temporary file an archive is written to before commit, next
 * to the target: `.<target name>.stevedore-tmp-<pid>-<random>`. The process
 * ID lets a later writer of the same target remove what a killed process
 * left behind without touching a live writer's file.
 */

import { randomBytes } from "node:crypto";
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const MARKER = ".stevedore-tmp-";

function stem(base: string): string {
  // Keep the temp name within common file-name length limits.
  return base.length > 180 ? base.slice(0, 180) : base;
}

/** A new temp file name for `base` (the target's file name). */
export function tempNameFor(base: string): string {
  return `.${stem(base)}${MARKER}${process.pid}-${randomBytes(8).toString("hex")}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else.
    return (e as { code?: string }).code === "EPERM";
  }
}

/**
 * Removes temp files for `base` in `dir` whose writing process no longer
 * exists (left by a killed process). Returns the names removed. Errors are
 * ignored: leftovers are never part of an archive and only waste space.
 */
export async function removeDeadLeftovers(dir: string, base: string): Promise<string[]> {
  const re = new RegExp(`^\\.${escapeRegExp(stem(base))}${escapeRegExp(MARKER)}(\\d+)-[0-9a-f]{16}$`);
  const removed: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    const m = re.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      await rm(join(dir, name), { force: true });
      removed.push(name);
    } catch {
      // ignore
    }
  }
  return removed;
}
