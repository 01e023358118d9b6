/**
 * A read-only index of a tar file: every entry's name, kind and the byte
 * range of its data, found by hopping from header to header (entry data is
 * never read while indexing). Entries are served by reading byte ranges of
 * the file; nothing is ever extracted.
 */

import type { FileHandle } from "node:fs/promises";
import { InvalidArchiveError, throwIfAborted, type BlobStream } from "@stevedore/types";
import { cleanPath, dirOf, staysInside } from "./paths.js";

const BLOCK = 512;
/** The largest PAX or GNU long-name record we accept; real ones are a few hundred bytes. */
const MAX_META_SIZE = 1024 * 1024;
/** Bytes read per chunk when serving entry data. */
const READ_CHUNK = 1024 * 1024;

/** What an entry is. */
export type EntryKind = "file" | "directory" | "symlink" | "hardlink" | "other";

/** One entry of the archive. */
export interface TarEntry {
  /** The name as stored (after PAX / GNU long-name records). */
  readonly name: string;
  /** The name, lexically cleaned. */
  readonly cleanName: string;
  readonly kind: EntryKind;
  /** The raw type flag, for messages. */
  readonly typeflag: string;
  /** Where the entry's data starts in the file. */
  readonly dataOffset: number;
  /** Bytes of data (0 for links, directories and devices). */
  readonly size: number;
  /** The link target as stored, for symlinks and hard links. */
  readonly linkname: string;
  /** For links: the cleaned archive name the link points to. */
  readonly linkTarget: string;
}

const decoder = new TextDecoder("utf-8");

function cString(b: Uint8Array, off: number, len: number): string {
  let end = off;
  const max = off + len;
  while (end < max && b[end] !== 0) end++;
  return decoder.decode(b.subarray(off, end));
}

function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

/** Parses a numeric header field: octal text, or GNU base-256 when the high bit is set. Undefined when malformed. */
function parseNumeric(b: Uint8Array, off: number, len: number): number | undefined {
  const first = b[off]!;
  if (first & 0x80) {
    if (first === 0xff) return undefined; // negative
    let v = first & 0x7f;
    for (let i = 1; i < len; i++) {
      v = v * 256 + b[off + i]!;
      if (v > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return v;
  }
  let s = "";
  for (let i = off; i < off + len; i++) {
    const c = b[i]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  s = s.trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) return undefined;
  const v = parseInt(s, 8);
  return Number.isSafeInteger(v) ? v : undefined;
}

function checksumOK(b: Uint8Array): boolean {
  const stored = parseNumeric(b, 148, 8);
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c >= 128 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

/** Parses PAX extended-header records (`<len> <key>=<value>\n`). */
function parsePax(data: Uint8Array, where: string): Map<string, string> {
  const out = new Map<string, string>();
  let i = 0;
  while (i < data.length) {
    if (data[i] === 0) break; // some writers pad with NULs
    let j = i;
    while (j < data.length && data[j] !== 0x20) j++;
    const lenText = decoder.decode(data.subarray(i, j));
    const len = /^[0-9]+$/.test(lenText) ? parseInt(lenText, 10) : NaN;
    if (!Number.isSafeInteger(len) || len <= j - i || i + len > data.length || data[i + len - 1] !== 0x0a) {
      throw new InvalidArchiveError(`${where}: malformed PAX extended header record`);
    }
    const record = decoder.decode(data.subarray(j + 1, i + len - 1));
    const eq = record.indexOf("=");
    if (eq <= 0) throw new InvalidArchiveError(`${where}: malformed PAX extended header record`);
    out.set(record.slice(0, eq), record.slice(eq + 1));
    i += len;
  }
  return out;
}

function kindOf(typeflag: string, name: string): EntryKind {
  switch (typeflag) {
    case "0":
    case "7":
      return "file";
    case "\0":
      return name.endsWith("/") ? "directory" : "file";
    case "1":
      return "hardlink";
    case "2":
      return "symlink";
    case "5":
    case "D":
      return "directory";
    default:
      return "other";
  }
}

/** Header-only types carry no data, whatever their size field says (as Go's archive/tar). */
function isHeaderOnly(typeflag: string): boolean {
  return typeflag === "1" || typeflag === "2" || typeflag === "3" || typeflag === "4" || typeflag === "5" || typeflag === "6";
}

function describe(kind: EntryKind, typeflag: string): string {
  switch (kind) {
    case "directory":
      return "a directory";
    case "symlink":
      return "a symbolic link";
    case "hardlink":
      return "a hard link";
    case "file":
      return "a regular file";
    default:
      return `an entry of tar type ${JSON.stringify(typeflag)} (device, FIFO, sparse file or other special entry)`;
  }
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return got === length ? buf : buf.subarray(0, got);
}

function roundUp(n: number): number {
  return Math.ceil(n / BLOCK) * BLOCK;
}

/** An indexed tar file. */
export class TarIndex {
  /** Entries by cleaned name; more than one entry under a name is remembered, and refused when that name is used. */
  readonly #byName: Map<string, TarEntry[]>;
  readonly #fh: FileHandle;
  /** Names the archive in messages, e.g. `docker-archive "x.tar"`. */
  readonly what: string;

  private constructor(fh: FileHandle, byName: Map<string, TarEntry[]>, what: string) {
    this.#fh = fh;
    this.#byName = byName;
    this.what = what;
  }

  /**
   * Indexes the tar file open as `fh` (of `fileSize` bytes). Refuses, naming
   * the entry: malformed or truncated headers, data running past the end of
   * the file, a missing end-of-archive marker, absolute names, names and link
   * targets that lead outside the archive.
   */
  static async build(fh: FileHandle, fileSize: number, what: string, signal?: AbortSignal): Promise<TarIndex> {
    const byName = new Map<string, TarEntry[]>();
    let offset = 0;
    let first = true;
    let pending: { path?: string; linkpath?: string; size?: number; sparse?: boolean } = {};
    let lastName = "";
    for (;;) {
      throwIfAborted(signal);
      if (offset + BLOCK > fileSize) {
        if (first) {
          throw new InvalidArchiveError(
            fileSize === 0 ? `${what} is an empty file, not a tar archive` : `${what} is not a tar archive (it is shorter than one tar header)`,
          );
        }
        throw new InvalidArchiveError(
          `${what} is truncated: it ends ${offset === fileSize ? "without the end-of-archive marker" : "inside a tar header"} after the entry "${lastName}"`,
        );
      }
      const h = await readExactly(fh, offset, BLOCK);
      if (h.length < BLOCK) throw new InvalidArchiveError(`${what} is truncated after the entry "${lastName}" (the file shrank while being read)`);
      if (isZeroBlock(h)) {
        if (first) throw new InvalidArchiveError(`${what} is not a tar archive: it starts with an empty block and holds no entries`);
        if (Object.keys(pending).length > 0) throw new InvalidArchiveError(`${what} is truncated: an extended header after "${lastName}" has no entry`);
        // One zero block followed by the end of the file, or two zero blocks, end the archive.
        if (offset + 2 * BLOCK <= fileSize) {
          const next = await readExactly(fh, offset + BLOCK, BLOCK);
          if (!isZeroBlock(next)) throw new InvalidArchiveError(`${what}: unexpected data after an end-of-archive block at offset ${offset}`);
        }
        break;
      }
      if (!checksumOK(h)) {
        if (first) throw new InvalidArchiveError(`${what} is not a tar archive (nor a gzip, zstd, bzip2 or xz-compressed one)`);
        throw new InvalidArchiveError(`${what} is corrupt: the tar header at offset ${offset}, after the entry "${lastName}", has a bad checksum`);
      }
      first = false;
      const typeflag = String.fromCharCode(h[156]!);
      const rawSize = parseNumeric(h, 124, 12);
      let name = cString(h, 0, 100);
      const magic = cString(h, 257, 6);
      const version = decoder.decode(h.subarray(263, 265));
      if (magic === "ustar" && version === "00") {
        const prefix = cString(h, 345, 155);
        if (prefix !== "") name = `${prefix}/${name}`;
      }
      if (rawSize === undefined) throw new InvalidArchiveError(`${what} is corrupt: the tar header of "${name}" at offset ${offset} has an invalid size`);
      const where = `${what}, tar header at offset ${offset}`;

      // Metadata records for the next entry.
      if (typeflag === "x" || typeflag === "g" || typeflag === "L" || typeflag === "K") {
        if (rawSize > MAX_META_SIZE) throw new InvalidArchiveError(`${where}: an extended header of ${rawSize} bytes is larger than the limit of ${MAX_META_SIZE}`);
        const dataEnd = offset + BLOCK + roundUp(rawSize);
        if (dataEnd > fileSize) throw new InvalidArchiveError(`${what} is truncated inside an extended header at offset ${offset}`);
        const data = await readExactly(fh, offset + BLOCK, rawSize);
        if (typeflag === "x") {
          const pax = parsePax(data, where);
          const p = pax.get("path");
          if (p !== undefined) pending.path = p;
          const lp = pax.get("linkpath");
          if (lp !== undefined) pending.linkpath = lp;
          const sz = pax.get("size");
          if (sz !== undefined) {
            if (!/^[0-9]+$/.test(sz) || !Number.isSafeInteger(Number(sz))) throw new InvalidArchiveError(`${where}: invalid PAX size ${JSON.stringify(sz)}`);
            pending.size = Number(sz);
          }
          for (const k of pax.keys()) if (k.startsWith("GNU.sparse.")) pending.sparse = true;
        } else if (typeflag === "L") {
          pending.path = cString(data, 0, data.length);
        } else if (typeflag === "K") {
          pending.linkpath = cString(data, 0, data.length);
        }
        offset = dataEnd;
        continue;
      }

      if (pending.path !== undefined) name = pending.path;
      const linkname = pending.linkpath ?? cString(h, 157, 100);
      let kind = kindOf(typeflag, name);
      if (pending.sparse) kind = "other";
      const size = isHeaderOnly(typeflag) ? 0 : (pending.size ?? rawSize);
      pending = {};
      const dataOffset = offset + BLOCK;
      if (dataOffset + roundUp(size) > fileSize) {
        throw new InvalidArchiveError(
          `${what} is truncated: the entry "${name}" needs ${size} bytes at offset ${dataOffset}, but the file has only ${Math.max(0, fileSize - dataOffset)} after it`,
        );
      }
      lastName = name;

      if (name.startsWith("/")) throw new InvalidArchiveError(`${what}: the entry "${name}" has an absolute path; refusing the archive`);
      const cleanName = cleanPath(name);
      if (!staysInside(cleanName)) throw new InvalidArchiveError(`${what}: the entry "${name}" points outside the archive; refusing the archive`);
      let linkTarget = "";
      if (kind === "symlink" || kind === "hardlink") {
        const label = kind === "symlink" ? "symbolic link" : "hard link";
        if (linkname === "") throw new InvalidArchiveError(`${what}: the ${label} "${name}" has an empty target`);
        if (linkname.startsWith("/")) {
          throw new InvalidArchiveError(`${what}: the ${label} "${name}" points to the absolute path "${linkname}", outside the archive; refusing the archive`);
        }
        linkTarget = kind === "symlink" ? cleanPath(`${dirOf(cleanName)}/${linkname}`) : cleanPath(linkname);
        if (!staysInside(linkTarget)) {
          throw new InvalidArchiveError(`${what}: the ${label} "${name}" points to "${linkname}", outside the archive; refusing the archive`);
        }
      }
      const entry: TarEntry = { name, cleanName, kind, typeflag, dataOffset, size, linkname, linkTarget };
      const list = byName.get(cleanName);
      if (list) list.push(entry);
      else byName.set(cleanName, [entry]);
      offset = dataOffset + roundUp(size);
    }
    return new TarIndex(fh, byName, what);
  }

  /** Whether an entry with this name exists (of any kind). */
  has(name: string): boolean {
    return this.#byName.has(cleanPath(name));
  }

  /** How many entries the archive has (names counted once per entry). */
  get entryCount(): number {
    let n = 0;
    for (const l of this.#byName.values()) n += l.length;
    return n;
  }

  #one(cleanName: string, label: string): TarEntry | undefined {
    const list = this.#byName.get(cleanName);
    if (!list) return undefined;
    if (list.length > 1) {
      throw new InvalidArchiveError(
        `${this.what}: ${label} "${cleanName}" appears ${list.length} times in the archive; tools disagree on which copy counts, so the archive is refused`,
      );
    }
    return list[0];
  }

  /**
   * The regular-file entry `component` (a name from the archive's
   * manifest.json) refers to. The name is cleaned; it must stay inside the
   * archive; one symbolic link is followed, only to another entry; anything
   * that is not a regular file, ambiguous (duplicate entries) or missing is
   * refused with {@link InvalidArchiveError} naming it. `label` says what
   * the component is, e.g. `layer` or `config`.
   */
  resolve(component: string, label: string): TarEntry {
    const c = cleanPath(component);
    if (component.startsWith("/") || !staysInside(c)) {
      throw new InvalidArchiveError(`${this.what}: the ${label} path "${component}" points outside the archive`);
    }
    let e = this.#one(c, label);
    if (!e) throw new InvalidArchiveError(`${this.what}: the ${label} "${component}" is not in the archive`);
    if (e.kind === "symlink") {
      const t = this.#one(e.linkTarget, `${label} link target`);
      if (!t) {
        throw new InvalidArchiveError(`${this.what}: the ${label} "${component}" is a symbolic link to "${e.linkname}", which is not in the archive`);
      }
      if (t.kind === "symlink") {
        throw new InvalidArchiveError(
          `${this.what}: the ${label} "${component}" is a symbolic link to "${e.linkname}", which is another symbolic link; only one link is followed`,
        );
      }
      e = t;
    }
    if (e.kind !== "file") {
      throw new InvalidArchiveError(`${this.what}: the ${label} "${e.name}" is ${describe(e.kind, e.typeflag)}, not a regular file`);
    }
    return e;
  }

  /** Reads the first `n` bytes of an entry (fewer when it is shorter). */
  async head(entry: TarEntry, n: number): Promise<Uint8Array> {
    return readExactly(this.#fh, entry.dataOffset, Math.min(n, entry.size));
  }

  /** Reads a whole entry; the caller checks its size against a limit first. */
  async readEntry(entry: TarEntry): Promise<Uint8Array> {
    const b = await readExactly(this.#fh, entry.dataOffset, entry.size);
    if (b.length !== entry.size) throw new InvalidArchiveError(`${this.what} changed while being read: the entry "${entry.name}" is short`);
    return b;
  }

  /** The data of an entry as a stream of chunks, read on demand. */
  stream(entry: TarEntry, signal?: AbortSignal): BlobStream {
    const fh = this.#fh;
    const what = this.what;
    return (async function* () {
      let pos = entry.dataOffset;
      const end = entry.dataOffset + entry.size;
      while (pos < end) {
        throwIfAborted(signal);
        const n = Math.min(READ_CHUNK, end - pos);
        const buf = new Uint8Array(n);
        const { bytesRead } = await fh.read(buf, 0, n, pos);
        if (bytesRead === 0) throw new InvalidArchiveError(`${what} changed while being read: the entry "${entry.name}" is short`);
        pos += bytesRead;
        yield bytesRead === n ? buf : buf.subarray(0, bytesRead);
      }
    })();
  }
}
