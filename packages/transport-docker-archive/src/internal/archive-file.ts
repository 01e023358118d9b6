/**
 * Opens an archive file for random access: a regular, uncompressed file is
 * used in place; a compressed file, a FIFO or a character device is first
 * copied (decompressed) to a temporary file, removed on close.
 */

import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decompressStream, detectCompression, detectCompressionBytes, InvalidCompressedDataError } from "@stevedore/compression";
import {
  ImageNotFoundError,
  InvalidArchiveError,
  StevedoreError,
  throwIfAborted,
  type BlobStream,
  type SystemContext,
} from "@stevedore/types";

/** An archive open for positional reads. */
export interface ArchiveFile {
  readonly fh: FileHandle;
  readonly size: number;
  /** The compression the archive had, when it was decompressed to a temporary file. */
  readonly compression: string | undefined;
  /** Closes the file and removes the temporary copy, if any. Safe to call twice. */
  close(): Promise<void>;
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null ? ((e as { code?: unknown }).code as string | undefined) : undefined;
}

async function* fileChunks(fh: FileHandle, signal?: AbortSignal): BlobStream {
  const CHUNK = 1024 * 1024;
  let pos = 0;
  for (;;) {
    throwIfAborted(signal);
    const buf = new Uint8Array(CHUNK);
    const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
    if (bytesRead === 0) return;
    pos += bytesRead;
    yield bytesRead === CHUNK ? buf : buf.subarray(0, bytesRead);
  }
}

/** Copies `stream` into a new temporary file and opens it for reading. */
async function spool(stream: BlobStream, ctx: SystemContext | undefined, what: string, compression: string | undefined, signal?: AbortSignal): Promise<ArchiveFile> {
  const base = ctx?.bigFilesTemporaryDir ?? tmpdir();
  let dir: string;
  try {
    dir = await mkdtemp(join(base, "stevedore-docker-archive-"));
  } catch (e) {
    throw new StevedoreError(`cannot create a temporary directory in "${base}" to unpack ${what}: ${(e as Error).message}`, { cause: e });
  }
  const file = join(dir, "archive.tar");
  let fh: FileHandle | undefined;
  try {
    const out = await open(file, "wx", 0o600);
    try {
      let pos = 0;
      for await (const chunk of stream) {
        throwIfAborted(signal);
        let done = 0;
        while (done < chunk.byteLength) {
          const { bytesWritten } = await out.write(chunk, done, chunk.byteLength - done, pos + done);
          done += bytesWritten;
        }
        pos += chunk.byteLength;
      }
    } finally {
      await out.close();
    }
    fh = await open(file, "r");
    const size = (await fh.stat()).size;
    let closed = false;
    const opened = fh;
    return {
      fh: opened,
      size,
      compression,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await opened.close();
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      },
    };
  } catch (e) {
    await fh?.close().catch(() => {});
    await rm(dir, { recursive: true, force: true });
    throwIfAborted(signal);
    if (e instanceof InvalidCompressedDataError) {
      throw new InvalidArchiveError(`${what} is not a valid ${compression ?? "compressed"} file: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** Opens the archive at `path` (see the module comment). */
export async function openArchiveFile(path: string, ctx: SystemContext | undefined, what: string, signal?: AbortSignal): Promise<ArchiveFile> {
  throwIfAborted(signal);
  let st;
  try {
    st = await stat(path);
  } catch (e) {
    const code = errno(e);
    if (code === "ENOENT" || code === "ENOTDIR") throw new ImageNotFoundError(`${what} does not exist`, { cause: e });
    throw new StevedoreError(`cannot open ${what}: ${(e as Error).message}`, { cause: e });
  }
  if (st.isDirectory()) throw new InvalidArchiveError(`${what} is a directory, not a docker archive (a tar file)`);
  if (st.isFile()) {
    let fh: FileHandle;
    try {
      fh = await open(path, "r");
    } catch (e) {
      throw new StevedoreError(`cannot open ${what}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const head = new Uint8Array(8);
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      const compression = detectCompressionBytes(head.subarray(0, bytesRead));
      if (compression === undefined) {
        const size = (await fh.stat()).size;
        let closed = false;
        return {
          fh,
          size,
          compression: undefined,
          async close() {
            if (closed) return;
            closed = true;
            await fh.close();
          },
        };
      }
      const file = await spool(decompressStream(fileChunks(fh, signal), compression, { signal }), ctx, what, compression, signal);
      await fh.close();
      return file;
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
  }
  if (st.isFIFO() || st.isCharacterDevice()) {
    // A pipe or a device: read it once, in order, into a temporary file.
    const raw = createReadStream(path, { signal }) as AsyncIterable<Uint8Array>;
    const detected = await detectCompression(raw, { signal });
    const stream = detected.algorithm === undefined ? detected.stream : decompressStream(detected.stream, detected.algorithm, { signal });
    return spool(stream, ctx, what, detected.algorithm, signal);
  }
  throw new InvalidArchiveError(`${what} is neither a regular file nor a pipe`);
}
