import { constants, type Stats } from "node:fs";
import { open, readdir, realpath, rm, type FileHandle } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import { join, sep } from "node:path";
import process from "node:process";
import {
  InvalidArchiveError,
  SizeLimitExceededError,
  throwIfAborted,
  type BlobStream,
} from "@stevedore/types";

/** The Node.js error code of `e`, if it has one. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof (e as { code: unknown }).code === "string"
    ? (e as { code: string }).code
    : undefined;
}

/** Whether `e` says "no such file or directory". */
export function isNotFound(e: unknown): boolean {
  const c = errnoCode(e);
  return c === "ENOENT" || c === "ENOTDIR";
}

/** A file opened for reading inside an image directory, with its stat. */
export interface OpenedFile {
  handle: FileHandle;
  stats: Stats;
  /** The path that was opened (after following an in-directory symlink). */
  path: string;
}

/**
 * Opens `name` in directory `root` (whose real path is `rootReal`) for
 * reading, refusing symbolic links that lead outside the directory and
 * anything that is not a regular file. ENOENT propagates unchanged so
 * that callers can map it to their own "unknown" error.
 */
export async function openInside(root: string, rootReal: string, name: string, what: string): Promise<OpenedFile> {
  const path = join(root, name);
  let handle: FileHandle;
  let opened = path;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if (errnoCode(e) !== "ELOOP") throw e;
    // A symbolic link: allowed only when it resolves inside the directory.
    const target = await realpath(path);
    if (!target.startsWith(rootReal.endsWith(sep) ? rootReal : rootReal + sep)) {
      throw new InvalidArchiveError(`${what} (${path}) is a symbolic link to ${target}, outside the image directory; refusing to read it`);
    }
    opened = target;
    handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new InvalidArchiveError(`${what} (${opened}) is not a regular file`);
    return { handle, stats, path: opened };
  } catch (e) {
    await handle.close().catch(() => {});
    throw e;
  }
}

/** Reads a whole opened file of at most `limit` bytes, then closes it. */
export async function readOpened(f: OpenedFile, limit: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
  try {
    if (f.stats.size > limit) {
      throw new SizeLimitExceededError(`${what} (${f.path}) is ${f.stats.size} bytes, larger than the limit of ${limit} bytes`);
    }
    const out = new Uint8Array(f.stats.size);
    let pos = 0;
    while (pos < out.length) {
      throwIfAborted(signal);
      const { bytesRead } = await f.handle.read(out, pos, out.length - pos, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
    }
    // The file may have grown since fstat: one more byte means it is over what we measured.
    const probe = new Uint8Array(1);
    const extra = await f.handle.read(probe, 0, 1, pos);
    if (extra.bytesRead > 0 || pos !== out.length) {
      throw new InvalidArchiveError(`${what} (${f.path}) changed while it was being read`);
    }
    return out;
  } finally {
    await f.handle.close().catch(() => {});
  }
}

const CHUNK = 256 * 1024;

/**
 * Streams an opened file from its start to its end and closes it when the
 * stream ends, fails or is abandoned by its consumer (`onClose` is called then).
 */
export async function* streamOpened(f: OpenedFile, signal: AbortSignal | undefined, onClose: () => void): BlobStream {
  try {
    let pos = 0;
    for (;;) {
      throwIfAborted(signal);
      const want = Math.min(CHUNK, Math.max(f.stats.size - pos, 16 * 1024));
      const buf = new Uint8Array(want);
      const { bytesRead } = await f.handle.read(buf, 0, want, pos);
      if (bytesRead === 0) return;
      pos += bytesRead;
      yield bytesRead === want ? buf : buf.subarray(0, bytesRead);
    }
  } finally {
    onClose();
    await f.handle.close().catch(() => {});
  }
}

/** Writes all of `bytes` at the handle's current position. */
export async function writeAll(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
    off += bytesWritten;
  }
}

/** Writes `bytes` to a new file `path` (which must not exist), mode 0644, and fsyncs it. */
export async function writeNewFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
  try {
    await writeAll(fh, bytes);
    await fh.sync();
    await fh.chmod(0o644);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(path, { force: true }).catch(() => {});
    throw e;
  }
  await fh.close();
}

/** fsyncs a directory so that renames and creations in it are durable. */
export async function syncDir(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } catch (e) {
    // Some file systems refuse fsync on directories; durability is then theirs to give.
    if (errnoCode(e) !== "EINVAL" && errnoCode(e) !== "ENOTSUP") throw e;
  } finally {
    await fh.close().catch(() => {});
  }
}

/** A random hex string for temporary names. */
export function randomSuffix(): string {
  return randomBytes(8).toString("hex");
}

/** Whether process `pid` of this machine is running (EPERM counts as running). */
export function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== "ESRCH";
  }
}

/**
 * Removes the entries of `dir` whose names match `pattern` (first capture
 * group = the pid of the process that made them) and whose process is gone:
 * staging directories left behind by a killed writer. Returns the names of
 * entries that belong to running processes.
 */
export async function removeDeadStaging(dir: string, pattern: RegExp): Promise<{ removed: string[]; live: string[] }> {
  const removed: string[] = [];
  const live: string[] = [];
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (isNotFound(e)) return { removed, live };
    throw e;
  }
  for (const name of names) {
    const m = pattern.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && processAlive(pid)) {
      live.push(name);
      continue;
    }
    await rm(join(dir, name), { recursive: true, force: true });
    removed.push(name);
  }
  return { removed, live };
}
