import { constants } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { autoDecompress } from "@stevedore/compression";
import { BLOBS_DIR, clampRange, readFileRange, removeStaleTemporaries, temporaryName, type ByteRange, type LayoutBlob, type LayoutStore } from "@stevedore/oci-layout";
import {
  ImageNotFoundError,
  InvalidArchiveError,
  SizeLimitExceededError,
  digestAlgorithm,
  digestHex,
  parseDigest,
  readAll,
  throwIfAborted,
  type Digest,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";
import { indexTar, type TarEntry } from "./internal/tar-index.js";
import { bigFilesTemporaryDir } from "./internal/tmpdir.js";

/** The prefix of the temporary files a compressed archive is decompressed to. */
export const DECOMPRESSED_TEMP_PREFIX = "stevedore-oci-archive-";

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
}

async function* fileStream(fh: FileHandle, size: number, signal: AbortSignal | undefined) {
  yield* readFileRange(fh, 0, size, signal);
}

/**
 * The files of an OCI layout inside a tar archive, read in place: the tar
 * headers are walked once (only headers are read) and each file is then
 * served by reading its byte range from the archive, so nothing is
 * extracted and every blob byte is read once per use. A compressed archive
 * (gzip, zstd, bzip2, xz — containers/image accepts them too) is first
 * decompressed, once, to a temporary file under the big-files temporary
 * directory, which `close()` removes.
 */
export class ArchiveLayoutStore implements LayoutStore {
  readonly location: string;
  private readonly fh: FileHandle;
  private readonly entries: Map<string, TarEntry>;
  private readonly tempFile: string | undefined;
  private closed = false;

  private constructor(location: string, fh: FileHandle, entries: Map<string, TarEntry>, tempFile: string | undefined) {
    this.location = location;
    this.fh = fh;
    this.entries = entries;
    this.tempFile = tempFile;
  }

  /** Opens and indexes the archive at `path` (`what` names it in messages). */
  static async open(path: string, ctx: SystemContext, what: string, options: IoOptions = {}): Promise<ArchiveLayoutStore> {
    const { signal } = options;
    throwIfAborted(signal);
    let fh: FileHandle;
    try {
      fh = await open(path, constants.O_RDONLY);
    } catch (e) {
      if (errno(e) === "ENOENT") throw new ImageNotFoundError(`${what}: the archive ${path} does not exist`, { cause: e });
      throw e;
    }
    let tempFile: string | undefined;
    try {
      let st = await fh.stat();
      if (!st.isFile()) throw new InvalidArchiveError(`${what}: ${path} is not a regular file`);
      const magic = new Uint8Array(6);
      const { bytesRead } = await fh.read(magic, 0, 6, 0);
      const looksCompressed =
        bytesRead >= 2 &&
        ((magic[0] === 0x1f && magic[1] === 0x8b) ||
          (magic[0] === 0x28 && magic[1] === 0xb5 && magic[2] === 0x2f && magic[3] === 0xfd) ||
          (magic[0] === 0x42 && magic[1] === 0x5a && magic[2] === 0x68) ||
          (magic[0] === 0xfd && magic[1] === 0x37 && magic[2] === 0x7a && magic[3] === 0x58 && magic[4] === 0x5a && magic[5] === 0x00));
      if (looksCompressed) {
        const dir = await bigFilesTemporaryDir(ctx);
        await removeStaleTemporaries(dir, DECOMPRESSED_TEMP_PREFIX);
        tempFile = join(dir, temporaryName(DECOMPRESSED_TEMP_PREFIX, ".tar"));
        const out = await open(tempFile, constants.O_RDWR | constants.O_CREAT | constants.O_EXCL, 0o600);
        try {
          const { stream } = await autoDecompress(fileStream(fh, st.size, signal), signal ? { signal } : {});
          let at = 0;
          for await (const c of stream) {
            throwIfAborted(signal);
            let off = 0;
            while (off < c.byteLength) {
              const { bytesWritten } = await out.write(c, off, c.byteLength - off, at);
              off += bytesWritten;
              at += bytesWritten;
            }
          }
        } catch (e) {
          await out.close().catch(() => {});
          throw e;
        }
        await fh.close();
        fh = out;
        st = await fh.stat();
      }
      const entries = await indexTar(fh, st.size, what, signal);
      return new ArchiveLayoutStore(path, fh, entries, tempFile);
    } catch (e) {
      await fh.close().catch(() => {});
      if (tempFile !== undefined) await rm(tempFile, { force: true });
      if (signal?.aborted) throwIfAborted(signal);
      throw e;
    }
  }

  /** The normalised names of the archive's entries (for tests and diagnostics). */
  entryNames(): string[] {
    return [...this.entries.keys()];
  }

  async readMetadataFile(name: string, limit: number, options: IoOptions = {}): Promise<Uint8Array | undefined> {
    throwIfAborted(options.signal);
    const e = this.entries.get(name);
    if (e === undefined) return undefined;
    if (e.type !== "file") throw new InvalidArchiveError(`${this.location}: ${name} is not a regular file`);
    if (e.size > limit) throw new SizeLimitExceededError(`${name} in ${this.location} is ${e.size} bytes, larger than the limit of ${limit} bytes`);
    return readAll(readFileRange(this.fh, e.offset, e.size, options.signal), { limit, what: `${name} in ${this.location}` });
  }

  async openBlob(digest: Digest, options: IoOptions = {}): Promise<LayoutBlob | undefined> {
    throwIfAborted(options.signal);
    const d = parseDigest(digest);
    const name = `${BLOBS_DIR}/${digestAlgorithm(d)}/${digestHex(d)}`;
    const e = this.entries.get(name);
    if (e === undefined) return undefined;
    if (e.type !== "file") throw new InvalidArchiveError(`${this.location}: ${name} is not a regular file`);
    const fh = this.fh;
    return {
      digest: d,
      size: e.size,
      location: `${this.location}:${name}`,
      stream: (range?: ByteRange, o: IoOptions = {}) => {
        const { start, length } = clampRange(range, e.size);
        return readFileRange(fh, e.offset + start, length, o.signal);
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close().catch(() => {});
    if (this.tempFile !== undefined) await rm(this.tempFile, { force: true });
  }
}
