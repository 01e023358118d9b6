import { InvalidArchiveError, throwIfAborted, type BlobStream } from "@stevedore/types";

const BLOCK = 512;

/** Type flags whose entries carry no data whatever their size field says (as Go's archive/tar). */
const HEADER_ONLY = new Set(["1", "2", "3", "4", "5", "6"].map((c) => c.charCodeAt(0)));

function parseOctal(field: Uint8Array): number | undefined {
  let i = 0;
  while (i < field.length && (field[i] === 0x20 || field[i] === 0)) i++;
  let n = 0;
  let digits = 0;
  for (; i < field.length; i++) {
    const c = field[i]!;
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) return undefined;
    n = n * 8 + (c - 0x30);
    digits++;
  }
  for (; i < field.length; i++) if (field[i] !== 0 && field[i] !== 0x20) return undefined;
  return digits === 0 ? 0 : n;
}

/** A numeric field: octal, or GNU base-256 when the first byte has its high bit set. */
function parseNumeric(field: Uint8Array): number | undefined {
  if ((field[0]! & 0x80) !== 0) {
    if ((field[0]! & 0x40) !== 0) return undefined; // negative
    let n = field[0]! & 0x3f;
    for (let i = 1; i < field.length; i++) {
      n = n * 256 + field[i]!;
      if (n > Number.MAX_SAFE_INTEGER) return undefined;
    }
    return n;
  }
  return parseOctal(field);
}

function checksumMatches(h: Uint8Array): boolean {
  const stored = parseOctal(h.subarray(148, 156));
  if (stored === undefined) return false;
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

function allZero(h: Uint8Array): boolean {
  for (const b of h) if (b !== 0) return false;
  return true;
}

/**
 * Reads `stream` (an uncompressed tar archive) to its end and checks that it
 * is one: every header has a valid checksum and size, every entry's data is
 * complete. The end-of-archive marker may be missing (as Go's archive/tar
 * accepts); what follows it is not examined. Fails with
 * `InvalidArchiveError` naming `what` and the offset.
 */
export async function checkTarStream(stream: BlobStream, what: string, signal?: AbortSignal): Promise<{ entries: number }> {
  const header = new Uint8Array(BLOCK);
  let fill = 0;
  let skip = 0;
  let offset = 0;
  let entries = 0;
  let ended = false;
  for await (const chunk of stream) {
    throwIfAborted(signal);
    let i = 0;
    while (i < chunk.length && !ended) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - i);
        skip -= n;
        i += n;
        offset += n;
        continue;
      }
      const n = Math.min(BLOCK - fill, chunk.length - i);
      header.set(chunk.subarray(i, i + n), fill);
      fill += n;
      i += n;
      offset += n;
      if (fill < BLOCK) continue;
      fill = 0;
      const at = offset - BLOCK;
      if (allZero(header)) {
        ended = true;
        break;
      }
      if (!checksumMatches(header)) {
        throw new InvalidArchiveError(
          entries === 0 ? `${what} is not a tar archive (no valid tar header at its start)` : `${what}: corrupt tar header at offset ${at} (bad checksum)`,
        );
      }
      const size = parseNumeric(header.subarray(124, 136));
      if (size === undefined) throw new InvalidArchiveError(`${what}: corrupt tar header at offset ${at} (invalid size field)`);
      const data = HEADER_ONLY.has(header[156]!) ? 0 : size;
      skip = Math.ceil(data / BLOCK) * BLOCK;
      entries++;
    }
  }
  if (!ended) {
    if (skip > 0) throw new InvalidArchiveError(`${what}: truncated tar archive (an entry's data ends ${skip} bytes early, at offset ${offset})`);
    if (fill > 0) {
      throw new InvalidArchiveError(
        entries === 0 ? `${what} is not a tar archive (shorter than one tar header)` : `${what}: truncated tar archive (a partial header at offset ${offset - fill})`,
      );
    }
    if (entries === 0) throw new InvalidArchiveError(`${what} is not a tar archive (it is empty)`);
  }
  return { entries };
}
