import { constants } from "node:fs";
import { link, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { StevedoreError, throwIfAborted, utf8 } from "@stevedore/types";
import { errnoCode, hostTagOf, processIsAlive, processStartTime, randomHex, sleep, temporaryName, writeFully } from "./internal/fs.js";

/** The name of the lock file Stevedore creates in a layout directory while it changes index.json. */
export const LAYOUT_LOCK_FILE = ".stevedore-lock";

interface LockOwner {
  pid: number;
  host: string;
  start?: string;
  token: string;
}

/** A held layout lock. */
export interface LayoutLock {
  /** Releases the lock (only if it is still this holder's). Safe to call twice. */
  release(): Promise<void>;
}

/** Options of {@link acquireLayoutLock}. */
export interface LayoutLockOptions {
  signal?: AbortSignal;
  /** How long a lock file with unreadable content may exist before it is considered abandoned (ms, default 30 s). */
  unreadableGraceMs?: number;
}

async function readOwner(path: string): Promise<LockOwner | undefined | "unreadable"> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return undefined;
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && typeof o.host === "string" && typeof o.token === "string") return o as LockOwner;
  } catch {
    // fall through
  }
  return "unreadable";
}

async function ownerIsGone(o: LockOwner): Promise<boolean> {
  if (o.host !== hostTagOf()) return false; // another machine's process: cannot tell, wait for it
  if (!processIsAlive(o.pid)) return true;
  if (o.start !== undefined) {
    const now = await processStartTime(o.pid);
    if (now !== undefined && now !== o.start) return true; // the pid was reused by another process
  }
  return false;
}

/**
 * Takes the exclusive lock of a layout directory: a file
 * `<dir>/.stevedore-lock` that appears atomically (hard-linked from a fully
 * written temporary file, so it is never seen empty) and names its owner
 * (host, pid, process start time, a random token). While another holder has
 * it, this waits (with backoff, cancellable through `signal`). A lock whose
 * owner is a process of this host that no longer exists (killed) is broken,
 * so a crash never blocks later writers; a lock of another host is waited for.
 */
export async function acquireLayoutLock(dir: string, options: LayoutLockOptions = {}): Promise<LayoutLock> {
  const { signal } = options;
  const grace = options.unreadableGraceMs ?? 30_000;
  const path = join(dir, LAYOUT_LOCK_FILE);
  const start = await processStartTime(process.pid);
  const me: LockOwner = { pid: process.pid, host: hostTagOf(), ...(start !== undefined ? { start } : {}), token: randomHex(12) };
  const content = utf8(JSON.stringify(me));
  let delay = 5;
  for (;;) {
    throwIfAborted(signal);
    const tmp = join(dir, temporaryName(".stevedore-lock-", ".tmp"));
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    try {
      await writeFully(fh, content);
      await fh.sync();
    } finally {
      await fh.close();
    }
    let acquired = false;
    try {
      await link(tmp, path);
      acquired = true;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") {
        await rm(tmp, { force: true });
        throw new StevedoreError(`cannot create the lock ${path}: ${(e as Error).message}`, { cause: e });
      }
    } finally {
      await rm(tmp, { force: true });
    }
    if (acquired) {
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          const o = await readOwner(path);
          if (o !== undefined && o !== "unreadable" && o.token === me.token) await rm(path, { force: true });
        },
      };
    }
    // Someone holds it. Break it if its owner is gone, else wait.
    const owner = await readOwner(path);
    let stale = false;
    if (owner === "unreadable") {
      const st = await stat(path).catch(() => undefined);
      stale = st !== undefined && Date.now() - st.mtimeMs > grace;
    } else if (owner !== undefined) {
      stale = await ownerIsGone(owner);
    }
    if (stale) {
      await breakStaleLock(path, owner);
      continue;
    }
    if (owner === undefined) continue; // released meanwhile: retry at once
    await sleep(delay, signal);
    delay = Math.min(delay * 2, 200);
  }
}

/**
 * Moves a stale lock aside, then checks that what was moved is the lock
 * judged stale; if a live holder had replaced it in between, it is put
 * back (unless yet another lock appeared, which then wins).
 */
async function breakStaleLock(path: string, judged: LockOwner | "unreadable" | undefined): Promise<void> {
  const aside = `${path}.stale-${process.pid}-${randomHex()}`;
  try {
    await rename(path, aside);
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return;
    throw e;
  }
  const moved = await readOwner(aside);
  const same =
    judged === "unreadable" ? moved === "unreadable" : moved !== undefined && moved !== "unreadable" && judged !== undefined && moved.token === judged.token;
  if (!same) {
    await link(aside, path).catch(() => {});
  }
  await rm(aside, { force: true });
}
