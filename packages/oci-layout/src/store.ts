import { constants, type Stats } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import {
  BlobUnknownError,
  InvalidArchiveError,
  SizeLimitExceededError,
  digestAlgorithm,
  digestHex,
  parseDigest,
  throwIfAborted,
  type BlobStream,
  type Digest,
  type IoOptions,
} from "@stevedore/types";
import { BLOBS_DIR } from "./layout-index.js";
import { READ_CHUNK, errnoCode, lstatOrUndefined } from "./internal/fs.js";

/** A byte range of a blob. */
export interface ByteRange {
  offset: number;
  /** Length in bytes; −1 reads to the end. */
  length: number;
}

/** A blob a {@link LayoutStore} found: its size, and a way to read it (lazily, so an unread blob holds no resources). */
export interface LayoutBlob {
  readonly digest: Digest;
  readonly size: number;
  /** Where it is, for messages (a file path, or `archive.tar:blobs/sha256/…`). */
  readonly location: string;
  /** Its bytes (or a range of them), unverified. */
  stream(range?: ByteRange, options?: IoOptions): BlobStream;
}

/**
 * Read access to the files of an OCI image layout, wherever they are: a
 * directory ({@link DirectoryLayoutStore}) or an archive. Paths are never
 * built from unvalidated digests, and nothing is followed out of the layout.
 */
export interface LayoutStore {
  /** Where the layout is, for messages (a directory or archive path). */
  readonly location: string;
  /**
   * A metadata file of the layout root (`index.json`, `oci-layout`), or
   * undefined when absent. More than `limit` bytes throws
   * `SizeLimitExceededError` without reading them.
   */
  readMetadataFile(name: string, limit: number, options?: IoOptions): Promise<Uint8Array | undefined>;
  /** A blob, or undefined when the layout does not have it. */
  openBlob(digest: Digest, options?: IoOptions): Promise<LayoutBlob | undefined>;
  /** Releases resources (open files, temporary files). Safe to call twice. */
  close(): Promise<void>;
}

/**
 * Reads `[start, start+length)` of an open file in chunks, checking `signal`
 * between chunks. A file shorter than the range ends early (the caller's
 * digest verification fails then).
 */
export async function* readFileRange(fh: FileHandle, start: number, length: number, signal: AbortSignal | undefined): BlobStream {
  let pos = start;
  let left = length;
  while (left > 0) {
    throwIfAborted(signal);
    const buf = new Uint8Array(Math.min(READ_CHUNK, left));
    const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    left -= bytesRead;
    yield bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead);
  }
}

/** Clamps a range to a blob of `size` bytes. */
export function clampRange(range: ByteRange | undefined, size: number): { start: number; length: number } {
  if (range === undefined) return { start: 0, length: size };
  const start = Math.min(Math.max(0, range.offset), size);
  const length = range.length < 0 ? size - start : Math.min(range.length, size - start);
  return { start, length };
}

async function openNoFollow(path: string, what: string): Promise<FileHandle | undefined> {
  try {
    return await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    const code = errnoCode(e);
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP") throw new InvalidArchiveError(`${what} (${path}) is a symbolic link; refusing to follow it`, { cause: e });
    throw e;
  }
}

function checkRegular(st: Stats, path: string, what: string): void {
  if (st.isSymbolicLink()) throw new InvalidArchiveError(`${what} (${path}) is a symbolic link; refusing to follow it`);
  if (!st.isFile()) throw new InvalidArchiveError(`${what} (${path}) is not a regular file`);
}

/**
 * The files of an OCI layout directory: `index.json`, `oci-layout`, and
 * `blobs/<algorithm>/<hex>` (or `<sharedBlobDir>/<algorithm>/<hex>`).
 * Symbolic links inside the layout (for index.json, `blobs`, an algorithm
 * directory or a blob) are refused with `InvalidArchiveError`; the layout
 * directory and the shared blob directory themselves may be links.
 */
export class DirectoryLayoutStore implements LayoutStore {
  /** The layout directory (absolute). */
  readonly dir: string;
  /** The shared blob directory, when blobs live outside the layout. */
  readonly sharedBlobDir: string | undefined;
  readonly location: string;

  constructor(dir: string, sharedBlobDir?: string) {
    this.dir = dir;
    this.sharedBlobDir = sharedBlobDir === "" ? undefined : sharedBlobDir;
    this.location = dir;
  }

  /** The directory blobs are stored under (`<dir>/blobs` or the shared one). */
  get blobRoot(): string {
    return this.sharedBlobDir ?? join(this.dir, BLOBS_DIR);
  }

  /** The path of a blob, after validating the digest (`InvalidDigestError`). */
  blobPath(digest: Digest): string {
    const d = parseDigest(digest);
    return join(this.blobRoot, digestAlgorithm(d), digestHex(d));
  }

  async readMetadataFile(name: string, limit: number, options: IoOptions = {}): Promise<Uint8Array | undefined> {
    // A file rewritten in place by another tool (containers/image does not replace index.json
    // atomically) may change while being read: read it again a few times before giving up.
    for (let attempt = 1; ; attempt++) {
      const r = await this.readMetadataFileOnce(name, limit, options);
      if (r !== "changed") return r;
      if (attempt === 5) throw new InvalidArchiveError(`${join(this.dir, name)} keeps changing while being read`);
    }
  }

  private async readMetadataFileOnce(name: string, limit: number, options: IoOptions): Promise<Uint8Array | undefined | "changed"> {
    throwIfAborted(options.signal);
    if (name.includes("/") || name === "." || name === "..") throw new InvalidArchiveError(`not a layout metadata file name: ${JSON.stringify(name)}`);
    const path = join(this.dir, name);
    const fh = await openNoFollow(path, name);
    if (fh === undefined) return undefined;
    try {
      const st = await fh.stat();
      checkRegular(st, path, name);
      if (st.size > limit) {
        throw new SizeLimitExceededError(`${path} is ${st.size} bytes, larger than the limit of ${limit} bytes`);
      }
      const out = new Uint8Array(st.size);
      let off = 0;
      while (off < out.byteLength) {
        throwIfAborted(options.signal);
        const { bytesRead } = await fh.read(out, off, out.byteLength - off, off);
        if (bytesRead === 0) break;
        off += bytesRead;
      }
      // The file changed size while being read: read it again rather than use a torn copy.
      const extra = await fh.read(new Uint8Array(1), 0, 1, off);
      if (extra.bytesRead > 0 || off !== out.byteLength) return "changed";
      return out;
    } finally {
      await fh.close();
    }
  }

  /** Checks that the directories on the way to a blob are real directories (not links); false when one is missing. */
  private async blobDirsAreSafe(digest: Digest): Promise<boolean> {
    const dirs: [string, string][] = [];
    if (this.sharedBlobDir === undefined) dirs.push([join(this.dir, BLOBS_DIR), "the blobs directory"]);
    dirs.push([join(this.blobRoot, digestAlgorithm(digest)), `the blobs/${digestAlgorithm(digest)} directory`]);
    for (const [p, what] of dirs) {
      const st = await lstatOrUndefined(p);
      if (st === undefined) return false;
      if (st.isSymbolicLink()) throw new InvalidArchiveError(`${what} of ${this.dir} (${p}) is a symbolic link; refusing to follow it`);
      if (!st.isDirectory()) throw new InvalidArchiveError(`${what} of ${this.dir} (${p}) is not a directory`);
    }
    return true;
  }

  async openBlob(digest: Digest, options: IoOptions = {}): Promise<LayoutBlob | undefined> {
    throwIfAborted(options.signal);
    const path = this.blobPath(digest);
    if (!(await this.blobDirsAreSafe(digest))) return undefined;
    const st = await lstatOrUndefined(path);
    if (st === undefined) return undefined;
    checkRegular(st, path, `blob ${digest}`);
    const { dev, ino, size } = st;
    return {
      digest,
      size,
      location: path,
      stream: (range?: ByteRange, o: IoOptions = {}) =>
        (async function* () {
          throwIfAborted(o.signal);
          const fh = await openNoFollow(path, `blob ${digest}`);
          if (fh === undefined) throw new BlobUnknownError(`blob ${digest} disappeared from ${path} while being read`);
          try {
            const now = await fh.stat();
            if (now.dev !== dev || now.ino !== ino) throw new InvalidArchiveError(`blob ${digest} (${path}) was replaced while being read`);
            const { start, length } = clampRange(range, size);
            yield* readFileRange(fh, start, length, o.signal);
          } finally {
            await fh.close();
          }
        })(),
    };
  }

  async close(): Promise<void> {}
}
