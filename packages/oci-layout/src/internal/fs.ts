import { createHash, randomBytes } from "node:crypto";
import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, readFile, rename, rm, copyFile, type FileHandle } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { AbortError, InvalidArchiveError, throwIfAborted } from "@stevedore/types";

/** Size of the chunks blobs are read in. */
export const READ_CHUNK = 256 * 1024;

/** The errno code of a Node fs error, or undefined. */
export function errnoCode(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e && typeof (e as { code: unknown }).code === "string"
    ? (e as { code: string }).code
    : undefined;
}

/** lstat that yields undefined for a missing path (and for a path under a non-directory). */
export async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw e;
  }
}

let hostTag: string | undefined;

/** A short, file-name-safe tag of this machine's host name, so temporary names from other hosts sharing a file system are left alone. */
export function hostTagOf(): string {
  hostTag ??= createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
  return hostTag;
}

/** A random hex string of `bytes` bytes. */
export function randomHex(bytes = 6): string {
  return randomBytes(bytes).toString("hex");
}

/**
 * A name for a temporary file or directory owned by this process:
 * `<prefix><host>-<pid>-<random><suffix>`. {@link removeStaleTemporaries}
 * recognises it and removes it once this process is gone.
 */
export function temporaryName(prefix: string, suffix = ""): string {
  return `${prefix}${hostTagOf()}-${process.pid}-${randomHex()}${suffix}`;
}

/** Whether a process with `pid` exists on this machine. */
export function processIsAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) === "EPERM";
  }
}

/** The start time of process `pid` (Linux /proc), to tell a reused pid from the original owner; undefined when unknown. */
export async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // Fields after "(comm) " start at field 3 (state); starttime is field 22.
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Removes entries of `dir` named `<prefix>[<kind>-]<host>-<pid>-<random>...` that were
 * made on this host by a process that no longer exists (left behind by a
 * process that was killed). Entries of live processes and of other hosts are
 * kept. Failures are ignored: this is housekeeping.
 */
export async function removeStaleTemporaries(dir: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const host = hostTagOf();
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^(?:[a-z]+-)?([0-9a-f]{8})-(\d+)-/.exec(name.slice(prefix.length));
    if (!m || m[1] !== host) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || processIsAlive(pid)) continue;
    await rm(join(dir, name), { recursive: true, force: true }).catch(() => {});
  }
}

/** fsyncs a directory so that renames and creations inside it are durable. */
export async function fsyncDirectory(path: string): Promise<void> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
    await fh.sync();
  } catch (e) {
    // Some file systems refuse fsync on directories; durability is then the file system's business.
    const code = errnoCode(e);
    if (code !== "EINVAL" && code !== "ENOTSUP" && code !== "EPERM" && code !== "EISDIR") throw e;
  } finally {
    await fh?.close();
  }
}

/** Writes all of `bytes` at the handle's current position. */
export async function writeFully(fh: FileHandle, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.byteLength) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
    off += bytesWritten;
  }
}

/**
 * Writes `parts` at the file's current position with one writev (no copy
 * into a single buffer: measured on a 1 GiB pull, the copy cost the main
 * thread ~0.4 s), finishing a partial write with plain writes. Many tiny
 * parts are joined first, as writev takes a bounded number of buffers.
 */
export async function writevFully(fh: FileHandle, parts: readonly Uint8Array[], total: number): Promise<void> {
  if (parts.length === 1 || parts.length > 64) return writeFully(fh, parts.length === 1 ? parts[0]! : Buffer.concat(parts, total));
  let { bytesWritten } = await fh.writev(parts as Uint8Array[]);
  if (bytesWritten === total) return;
  for (const p of parts) {
    if (bytesWritten >= p.byteLength) {
      bytesWritten -= p.byteLength;
      continue;
    }
    await writeFully(fh, p.subarray(bytesWritten));
    bytesWritten = 0;
  }
}

/**
 * Writes `bytes` to `path` atomically: a temporary file in `tempDir` (same
 * file system), fsync'ed, then renamed over `path`; the directory of `path`
 * is fsync'ed afterwards. On failure the temporary file is removed.
 */
export async function writeFileAtomic(path: string, dirOfPath: string, tempDir: string, bytes: Uint8Array, mode = 0o644): Promise<void> {
  const tmp = join(tempDir, temporaryName(".stevedore-write-", ".tmp"));
  const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  try {
    await writeFully(fh, bytes);
    await fh.sync();
    await fh.chmod(mode);
  } catch (e) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await fsyncDirectory(dirOfPath);
}

/**
 * Moves a file with rename(2); across file systems (EXDEV) it copies to a
 * temporary name next to `dst`, fsyncs and renames, then removes `src`.
 */
export async function moveFile(src: string, dst: string, dstDir: string): Promise<void> {
  try {
    await rename(src, dst);
    return;
  } catch (e) {
    if (errnoCode(e) !== "EXDEV") throw e;
  }
  const tmp = join(dstDir, temporaryName(".stevedore-move-", ".tmp"));
  try {
    await copyFile(src, tmp, constants.COPYFILE_EXCL);
    const fh = await open(tmp, constants.O_RDWR);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dst);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await rm(src, { force: true });
}

/**
 * Makes sure `path` is a real directory (creating it when missing, mode
 * 0755) and not a symbolic link or another kind of file, so that nothing is
 * ever written through a link out of a layout.
 */
export async function ensureRealDirectory(path: string, what: string): Promise<void> {
  const st = await lstatOrUndefined(path);
  if (st === undefined) {
    try {
      await mkdir(path, { mode: 0o755 });
      return;
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw e;
    }
    return ensureRealDirectory(path, what);
  }
  if (st.isSymbolicLink()) throw new InvalidArchiveError(`${what} (${path}) is a symbolic link; refusing to follow it`);
  if (!st.isDirectory()) throw new InvalidArchiveError(`${what} (${path}) is not a directory`);
}

/** Converts a DOM/Node abort error into Stevedore's AbortError when `signal` was aborted. */
export function normalizeAbort(e: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted && !(e instanceof AbortError)) {
    try {
      throwIfAborted(signal);
    } catch (a) {
      return a;
    }
  }
  return e;
}

/** Waits `ms` milliseconds, or rejects with AbortError when `signal` fires. */
export function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  throwIfAborted(signal);
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(t);
      try {
        throwIfAborted(signal);
      } catch (e) {
        reject(e);
      }
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Writes a stream of chunks to a file handle in large batches, overlapping
 * the writes with the reading: chunks are gathered until `batch` bytes, a
 * write of them starts, and gathering goes on while it runs; `push` waits
 * only when one write is in flight and another batch is ready (bounded
 * memory: at most two batches). `finish` writes the rest and reports the
 * first write error. The chunks are written as they are, not copied, so a
 * producer must not reuse a chunk's memory after handing it over.
 */
export class BatchedFileWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> | undefined;
  private error: unknown;
  private failed = false;

  constructor(
    private readonly fh: FileHandle,
    private readonly batch = 256 * 1024,
  ) {}

  private start(): void {
    const parts = this.pending;
    const total = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inflight = writevFully(this.fh, parts, total).then(
      () => {
        this.inflight = undefined;
      },
      (e: unknown) => {
        this.inflight = undefined;
        this.failed = true;
        this.error = e;
      },
    );
  }

  async push(chunk: Uint8Array): Promise<void> {
    if (this.failed) throw this.error;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes < this.batch) return;
    if (this.inflight) await this.inflight;
    if (this.failed) throw this.error;
    this.start();
  }

  async finish(): Promise<void> {
    if (this.inflight) await this.inflight;
    if (!this.failed && this.pendingBytes > 0) {
      this.start();
      await this.inflight;
    }
    if (this.failed) throw this.error;
  }

  /** Waits for a write in flight (after an error elsewhere), ignoring its outcome. */
  async settle(): Promise<void> {
    if (this.inflight) await this.inflight.catch(() => {});
  }
}
