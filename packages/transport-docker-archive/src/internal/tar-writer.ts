/**
 * Appends entries to a tar file being written, with positional writes so
 * that an entry's header can be written after its data (its name and size
 * may depend on the data's digest and length) and a failed entry can be
 * cut off again. Headers are POSIX ustar; sizes of 8 GiB and more use the
 * GNU base-256 size encoding, which GNU tar, Go's archive/tar (docker,
 * containerd, skopeo) and tar-stream read.
 */

import type { FileHandle } from "node:fs/promises";
import { InternalError, throwIfAborted, utf8, type BlobStream } from "@stevedore/types";

const BLOCK = 512;
const MAX_OCTAL_SIZE = 8 ** 11 - 1;
const WRITE_BUFFER = 1024 * 1024;

function putString(h: Uint8Array, off: number, len: number, s: string): void {
  const b = utf8(s);
  if (b.length > len) throw new InternalError(`tar header field too long: ${JSON.stringify(s)}`);
  h.set(b, off);
}

function putOctal(h: Uint8Array, off: number, len: number, n: number): void {
  putString(h, off, len, n.toString(8).padStart(len - 1, "0") + "\0");
}

function putSize(h: Uint8Array, n: number): void {
  if (n <= MAX_OCTAL_SIZE) {
    putOctal(h, 124, 12, n);
    return;
  }
  // GNU base-256: high bit set in the first byte, big-endian value in the rest.
  let v = BigInt(n);
  for (let i = 11; i >= 1; i--) {
    h[124 + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  h[124] = 0x80;
}

/** Encodes a ustar header block for a regular file or a symlink. */
export function encodeHeader(entry: { name: string; size: number; type: "file" | "symlink"; linkname?: string; mode?: number }): Uint8Array {
  const h = new Uint8Array(BLOCK);
  putString(h, 0, 100, entry.name);
  putOctal(h, 100, 8, entry.mode ?? 0o444);
  putOctal(h, 108, 8, 0); // uid
  putOctal(h, 116, 8, 0); // gid
  putSize(h, entry.type === "file" ? entry.size : 0);
  putOctal(h, 136, 12, 0); // mtime: the epoch, as the Go library writes
  h[156] = (entry.type === "file" ? "0" : "2").charCodeAt(0);
  if (entry.linkname !== undefined) putString(h, 157, 100, entry.linkname);
  putString(h, 257, 6, "ustar\0");
  putString(h, 263, 2, "00");
  putOctal(h, 329, 8, 0); // devmajor
  putOctal(h, 337, 8, 0); // devminor
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  putString(h, 148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
  return h;
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** A tar file being appended to. Not safe for concurrent use: callers serialise. */
export class TarAppender {
  readonly #fh: FileHandle;
  /** Where the next entry starts: the end of the last complete entry. */
  #end = 0;

  constructor(fh: FileHandle) {
    this.#fh = fh;
  }

  /** Bytes written so far in complete entries. */
  get size(): number {
    return this.#end;
  }

  async #write(bytes: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.#fh.write(bytes, done, bytes.length - done, position + done);
      done += bytesWritten;
    }
  }

  /** Adds a regular file with the given content. */
  async addBytes(name: string, content: Uint8Array, mode?: number): Promise<void> {
    const start = this.#end;
    const pad = padding(content.length);
    const buf = new Uint8Array(BLOCK + content.length + pad);
    buf.set(encodeHeader({ name, size: content.length, type: "file", ...(mode === undefined ? {} : { mode }) }), 0);
    buf.set(content, BLOCK);
    try {
      await this.#write(buf, start);
    } catch (e) {
      await this.#cut(start);
      throw e;
    }
    this.#end = start + buf.length;
  }

  /** Adds a symbolic link. */
  async addSymlink(name: string, target: string): Promise<void> {
    const start = this.#end;
    try {
      await this.#write(encodeHeader({ name, size: 0, type: "symlink", linkname: target, mode: 0o777 }), start);
    } catch (e) {
      await this.#cut(start);
      throw e;
    }
    this.#end = start + BLOCK;
  }

  /**
   * Adds a regular file whose content is `stream`. The data is written
   * first; `finish` is then called (after the stream ended without error)
   * with the number of bytes and returns the entry's name, and the header is
   * written in front of the data. When the stream or `finish` fails, the
   * partial entry is cut off the file and the error is rethrown. Returns
   * where the data starts and its size.
   */
  async addStream(stream: BlobStream, finish: (size: number) => string | Promise<string>, signal?: AbortSignal): Promise<{ dataOffset: number; size: number }> {
    const start = this.#end;
    let pos = start + BLOCK;
    try {
      // Reserve the header block so a crash leaves no half-valid entry.
      await this.#write(new Uint8Array(BLOCK), start);
      let pending: Uint8Array[] = [];
      let pendingBytes = 0;
      const flush = async () => {
        if (pendingBytes === 0) return;
        const out = pending.length === 1 ? pending[0]! : new Uint8Array(pendingBytes);
        if (pending.length > 1) {
          let o = 0;
          for (const c of pending) {
            out.set(c, o);
            o += c.length;
          }
        }
        await this.#write(out, pos);
        pos += pendingBytes;
        pending = [];
        pendingBytes = 0;
      };
      for await (const chunk of stream) {
        throwIfAborted(signal);
        if (chunk.byteLength === 0) continue;
        pending.push(chunk);
        pendingBytes += chunk.byteLength;
        if (pendingBytes >= WRITE_BUFFER) await flush();
      }
      await flush();
      throwIfAborted(signal);
      const size = pos - start - BLOCK;
      const name = await finish(size);
      const pad = padding(size);
      if (pad > 0) await this.#write(new Uint8Array(pad), pos);
      await this.#write(encodeHeader({ name, size, type: "file" }), start);
      this.#end = pos + pad;
      return { dataOffset: start + BLOCK, size };
    } catch (e) {
      await this.#cut(start);
      throw e;
    }
  }

  /** Cuts the file back to `start`, dropping a failed entry. */
  async #cut(start: number): Promise<void> {
    try {
      await this.#fh.truncate(start);
    } catch {
      // The file is a temp file that is removed when the write is abandoned anyway.
    }
    this.#end = start;
  }

  /** Writes the end-of-archive marker (two zero blocks). */
  async finish(): Promise<void> {
    await this.#write(new Uint8Array(2 * BLOCK), this.#end);
    this.#end += 2 * BLOCK;
  }

  /** Reads back `length` bytes at `position` of what was written. */
  async readBack(position: number, length: number): Promise<Uint8Array> {
    const buf = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await this.#fh.read(buf, got, length - got, position + got);
      if (bytesRead === 0) throw new InternalError("short read of the archive being written");
      got += bytesRead;
    }
    return buf;
  }
}
