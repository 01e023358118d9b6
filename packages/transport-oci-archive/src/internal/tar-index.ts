import type { FileHandle } from "node:fs/promises";
import { InvalidArchiveError, SizeLimitExceededError, throwIfAborted } from "@stevedore/types";

/** A regular file or directory of a tar archive, located by byte offsets (nothing is extracted). */
export interface TarEntry {
  /** The normalised name (no `./`, no trailing `/`). */
  name: string;
  type: "file" | "directory";
  /** Offset of the entry's data in the archive file. */
  offset: number;
  size: number;
}

const BLOCK = 512;
/** Largest pax extended header or GNU long name Stevedore reads. */
const MAX_META = 1024 * 1024;
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function cstring(b: Uint8Array, start: number, end: number, decoder = utf8): string {
  let e = start;
  while (e < end && b[e] !== 0) e++;
  return decoder.decode(b.subarray(start, e));
}

/** A numeric header field: octal text (NUL/space padded) or GNU base-256. */
function numeric(b: Uint8Array, start: number, end: number, what: string): number {
  const first = b[start]!;
  if (first & 0x80) {
    if (first !== 0x80) throw new InvalidArchiveError(`${what}: negative or oversized base-256 number`);
    let v = 0;
    for (let i = start + 1; i < end; i++) {
      v = v * 256 + b[i]!;
      if (!Number.isSafeInteger(v)) throw new InvalidArchiveError(`${what}: number too large`);
    }
    return v;
  }
  const s = latin1.decode(b.subarray(start, end)).replace(/[\0 ]+$/, "").replace(/^ +/, "");
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new InvalidArchiveError(`${what}: invalid octal number ${JSON.stringify(s)}`);
  const v = parseInt(s, 8);
  if (!Number.isSafeInteger(v)) throw new InvalidArchiveError(`${what}: number too large`);
  return v;
}

function checksumOk(h: Uint8Array, what: string): boolean {
  const stored = numeric(h, 148, 156, `${what}: checksum field`);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 32 : h[i]!;
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  return stored === unsigned || stored === signed;
}

function parsePax(data: Uint8Array, what: string): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    let sp = pos;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    const len = Number(latin1.decode(data.subarray(pos, sp)));
    if (!Number.isSafeInteger(len) || len <= sp - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw new InvalidArchiveError(`${what}: malformed pax extended header`);
    }
    const rec = utf8.decode(data.subarray(sp + 1, pos + len - 1));
    const eq = rec.indexOf("=");
    if (eq <= 0) throw new InvalidArchiveError(`${what}: malformed pax record`);
    out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

/**
 * The normalised form of an entry name: `./` and empty components dropped.
 * Absolute names, `..` components and NUL bytes are refused with
 * `InvalidArchiveError` naming the entry.
 */
export function normalizeEntryName(name: string, what: string): string {
  if (name.includes("\0")) throw new InvalidArchiveError(`${what}: entry name ${JSON.stringify(name)} contains a NUL byte`);
  if (name.startsWith("/")) throw new InvalidArchiveError(`${what}: entry ${JSON.stringify(name)} has an absolute name`);
  const parts: string[] = [];
  for (const p of name.split("/")) {
    if (p === "" || p === ".") continue;
    if (p === "..") throw new InvalidArchiveError(`${what}: entry ${JSON.stringify(name)} has a ".." component`);
    parts.push(p);
  }
  return parts.join("/");
}

const TYPE_NAMES: Record<string, string> = {
  "1": "a hard link",
  "2": "a symbolic link",
  "3": "a character device",
  "4": "a block device",
  "6": "a FIFO",
  S: "a sparse file",
};

/**
 * Walks the headers of an uncompressed tar archive (POSIX ustar and pax,
 * GNU long names, old V7) with positional reads — only the 512-byte headers
 * and small pax/long-name records are read, never file data — and returns
 * its regular files and directories by normalised name. Refused with
 * `InvalidArchiveError` naming the entry: absolute names, `..` components,
 * links (hard or symbolic), devices, FIFOs, sparse files, unknown types,
 * duplicate names, bad checksums, and truncation.
 */
export async function indexTar(fh: FileHandle, fileSize: number, what: string, signal?: AbortSignal): Promise<Map<string, TarEntry>> {
  const entries = new Map<string, TarEntry>();
  const header = new Uint8Array(BLOCK);
  let pos = 0;
  let pax: Map<string, string> | undefined;
  let longName: string | undefined;
  const readAt = async (buf: Uint8Array, at: number) => {
    let off = 0;
    while (off < buf.length) {
      const { bytesRead } = await fh.read(buf, off, buf.length - off, at + off);
      if (bytesRead === 0) throw new InvalidArchiveError(`${what}: truncated tar archive (at offset ${at + off})`);
      off += bytesRead;
    }
  };
  for (;;) {
    throwIfAborted(signal);
    if (pos + BLOCK > fileSize) {
      if (pos === fileSize && pax === undefined && longName === undefined && pos > 0) break; // no end-of-archive marker: tolerated
      throw new InvalidArchiveError(`${what}: truncated tar archive (at offset ${pos})`);
    }
    await readAt(header, pos);
    if (header.every((b) => b === 0)) {
      if (pax !== undefined || longName !== undefined) throw new InvalidArchiveError(`${what}: archive ends after an extended header`);
      if (pos === 0) throw new InvalidArchiveError(`${what}: empty tar archive`);
      break;
    }
    const at = `${what}: tar header at offset ${pos}`;
    if (!checksumOk(header, at)) throw new InvalidArchiveError(`${at}: bad checksum (not a tar archive, or damaged)`);
    const flag = String.fromCharCode(header[156]!);
    const headerSize = numeric(header, 124, 136, `${at}: size`);
    const dataOffset = pos + BLOCK;
    const posixUstar = latin1.decode(header.subarray(257, 263)) === "ustar\0";
    let name = cstring(header, 0, 100);
    if (posixUstar) {
      const prefix = cstring(header, 345, 500);
      if (prefix !== "") name = `${prefix}/${name}`;
    }
    const readMeta = async (size: number) => {
      if (size > MAX_META) throw new SizeLimitExceededError(`${at}: extended header of ${size} bytes is larger than the limit of ${MAX_META} bytes`);
      if (dataOffset + size > fileSize) throw new InvalidArchiveError(`${at}: truncated tar archive`);
      const b = new Uint8Array(size);
      await readAt(b, dataOffset);
      return b;
    };
    const next = () => dataOffset + Math.ceil(headerSize / BLOCK) * BLOCK;
    if (flag === "x") {
      pax = parsePax(await readMeta(headerSize), at);
      pos = next();
      continue;
    }
    if (flag === "g") {
      await readMeta(headerSize); // global pax headers carry nothing Stevedore needs
      pos = next();
      continue;
    }
    if (flag === "L") {
      longName = cstring(await readMeta(headerSize), 0, headerSize);
      pos = next();
      continue;
    }
    if (flag === "K") {
      await readMeta(headerSize);
      pos = next();
      continue;
    }
    const rawName = pax?.get("path") ?? longName ?? name;
    const paxSize = pax?.get("size");
    let size = headerSize;
    if (paxSize !== undefined) {
      if (!/^\d+$/.test(paxSize) || !Number.isSafeInteger(Number(paxSize))) throw new InvalidArchiveError(`${at}: invalid pax size ${JSON.stringify(paxSize)}`);
      size = Number(paxSize);
    }
    pax = undefined;
    longName = undefined;
    const entryWhat = `${what}: entry ${JSON.stringify(rawName)}`;
    const bad = TYPE_NAMES[flag];
    if (bad !== undefined) throw new InvalidArchiveError(`${entryWhat} is ${bad}; OCI archives may contain only regular files and directories`);
    let type: TarEntry["type"];
    if (flag === "0" || flag === "\0" || flag === "7") type = "file";
    else if (flag === "5") type = "directory";
    else throw new InvalidArchiveError(`${entryWhat} has an unsupported type ${JSON.stringify(flag)}`);
    const norm = normalizeEntryName(rawName, what);
    if (norm === "") {
      if (type !== "directory") throw new InvalidArchiveError(`${entryWhat}: a file without a name`);
    } else {
      if (entries.has(norm)) throw new InvalidArchiveError(`${what}: duplicate entry ${JSON.stringify(norm)}`);
      if (dataOffset + size > fileSize) throw new InvalidArchiveError(`${entryWhat}: truncated tar archive`);
      entries.set(norm, { name: norm, type, offset: dataOffset, size: type === "file" ? size : 0 });
    }
    pos = dataOffset + Math.ceil(size / BLOCK) * BLOCK;
  }
  return entries;
}
