/**
 * A streaming bzip2 decoder, written for Stevedore from the format's
 * description (Burrows–Wheeler transform, move-to-front, Huffman coding and
 * two run-length stages, in 100k–900k blocks with CRC-32 checks).
 *
 * The decoder works one block at a time. A block's compressed bits are parsed
 * from an input buffer; if the buffer runs dry the attempt is undone and
 * retried when more input has arrived (so the caller gathers roughly one
 * block's worth of input before each attempt, and never more than twice the
 * largest block). The decoded block is then written out in bounded chunks by
 * a generator, because one block can expand to about 45 MiB.
 */
import { throwIfAborted, type BlobStream } from "@stevedore/types";
import { InvalidCompressedDataError } from "../errors.js";
import { nextOrAbort } from "./iter.js";

/** Thrown (never escapes this module) when the input buffer runs out mid-parse. */
const NEED_INPUT = { needInput: true } as const;

const MAX_GROUPS = 6;
const MAX_ALPHA = 258;
const MAX_CODE_LENGTH = 20;
const MAX_SELECTORS = 18002;
const GROUP_SIZE = 50;
const FAST_BITS = 10;
/** Size of the chunks the output phase yields. */
const OUTPUT_CHUNK = 128 * 1024;

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c;
  }
  return t;
})();

function corrupt(problem: string): InvalidCompressedDataError {
  return new InvalidCompressedDataError("bzip2", problem);
}

/** One Huffman table (a "group"): a 10-bit lookup table, then canonical decoding for longer codes. */
class HuffmanTable {
  readonly fast = new Int32Array(1 << FAST_BITS);
  readonly firstCode = new Int32Array(MAX_CODE_LENGTH + 2);
  readonly count = new Int32Array(MAX_CODE_LENGTH + 2);
  readonly offset = new Int32Array(MAX_CODE_LENGTH + 2);
  readonly symbols = new Uint16Array(MAX_ALPHA);
  maxLength = 0;

  build(lengths: Uint8Array, alphaSize: number): void {
    const { fast, firstCode, count, offset, symbols } = this;
    count.fill(0);
    fast.fill(0);
    let maxLength = 0;
    for (let i = 0; i < alphaSize; i++) {
      const l = lengths[i]!;
      count[l]!++;
      if (l > maxLength) maxLength = l;
    }
    this.maxLength = maxLength;
    let code = 0;
    let seen = 0;
    for (let l = 1; l <= MAX_CODE_LENGTH; l++) {
      firstCode[l] = code;
      offset[l] = seen;
      seen += count[l]!;
      code += count[l]!;
      if (code > 1 << l) throw corrupt("a Huffman table has more codes than its lengths allow");
      code <<= 1;
    }
    const next = new Int32Array(MAX_CODE_LENGTH + 2);
    for (let i = 0; i < alphaSize; i++) {
      const l = lengths[i]!;
      const rank = next[l]!++;
      symbols[offset[l]! + rank] = i;
      if (l <= FAST_BITS) {
        const c = firstCode[l]! + rank;
        const shift = FAST_BITS - l;
        const entry = (i << 5) | l;
        for (let k = c << shift, e = (c + 1) << shift; k < e; k++) fast[k] = entry;
      }
    }
  }
}

/** The decoder's state between calls to {@link Bzip2Decoder.next}. */
type Phase = "streamHeader" | "block" | "end";

/** What {@link Bzip2Decoder.next} found. */
type Step = typeof NEED_INPUT | "block" | "end";

/** Decodes bzip2 streams (several, concatenated, are one output) from input handed in with {@link append}. */
export class Bzip2Decoder {
  // Input buffer: bytes [pos, end) are unread; bitBuf holds bitCount already-loaded bits.
  private buf = new Uint8Array(64 * 1024);
  private pos = 0;
  private end = 0;
  private bitBuf = 0;
  private bitCount = 0;

  private phase: Phase = "streamHeader";
  private streams = 0;
  private blockSize = 0;
  private streamCRC = 0;

  // The current block, between parsing and output.
  private tt = new Uint32Array(0);
  private nblock = 0;
  private origPtr = 0;
  private blockCRC = 0;

  private readonly seqToUnseq = new Uint8Array(256);
  private readonly selectors = new Uint8Array(MAX_SELECTORS);
  private readonly lengths = new Uint8Array(MAX_ALPHA);
  private readonly tables = Array.from({ length: MAX_GROUPS }, () => new HuffmanTable());
  private readonly counts = new Int32Array(256);
  private readonly mtf = new Uint8Array(256);

  /** How many unread input bytes the decoder holds (including bits already loaded). */
  available(): number {
    return this.end - this.pos + (this.bitCount >> 3);
  }

  /** How much input to gather before the next attempt: about one block (compressed blocks rarely exceed their size). */
  wanted(): number {
    return this.phase === "block" ? this.blockSize * 110_000 + 4096 : 4096;
  }

  /** Adds input. */
  append(chunk: Uint8Array): void {
    const n = chunk.byteLength;
    if (this.end + n > this.buf.byteLength) {
      const live = this.end - this.pos;
      if (live + n <= this.buf.byteLength) {
        this.buf.copyWithin(0, this.pos, this.end);
      } else {
        const grown = new Uint8Array(Math.max(this.buf.byteLength * 2, live + n, 64 * 1024));
        grown.set(this.buf.subarray(this.pos, this.end));
        this.buf = grown;
      }
      this.pos = 0;
      this.end = live;
    }
    this.buf.set(chunk, this.end);
    this.end += n;
  }

  private bits(n: number): number {
    while (this.bitCount < n) {
      if (this.pos >= this.end) throw NEED_INPUT;
      this.bitBuf = (this.bitBuf << 8) | this.buf[this.pos++]!;
      this.bitCount += 8;
    }
    this.bitCount -= n;
    return (this.bitBuf >>> this.bitCount) & ((1 << n) - 1);
  }

  /**
   * Parses what comes next. Returns `"block"` when a block is ready for
   * {@link output}, `"end"` when the input ended cleanly after at least one
   * stream, or NEED_INPUT when more input is needed (state is then as before
   * the call). `eof` says that no more input will come.
   */
  next(eof: boolean): Step {
    for (;;) {
      const saved = { pos: this.pos, bitBuf: this.bitBuf, bitCount: this.bitCount, phase: this.phase };
      try {
        if (this.phase === "streamHeader") {
          if (eof && this.available() === 0) {
            if (this.streams === 0) throw corrupt("the data is empty or truncated");
            this.phase = "end";
            return "end";
          }
          const b = this.bits(8);
          const z = this.bits(8);
          const h = this.bits(8);
          const level = this.bits(8) - 0x30;
          if (b !== 0x42 || z !== 0x5a || h !== 0x68 || level < 1 || level > 9) {
            throw corrupt(this.streams === 0 ? "the data does not start with a bzip2 header" : "unexpected data after the end of the compressed stream");
          }
          this.blockSize = level;
          this.streamCRC = 0;
          this.phase = "block";
          continue;
        }
        if (this.phase === "end") return "end";
        const hi = this.bits(24);
        const lo = this.bits(24);
        if (hi === 0x314159 && lo === 0x265359) {
          this.readBlock();
          return "block";
        }
        if (hi === 0x177245 && lo === 0x385090) {
          const stored = ((this.bits(16) << 16) | this.bits(16)) >>> 0;
          if (stored !== this.streamCRC) throw corrupt("the stream checksum does not match");
          this.bitCount -= this.bitCount & 7; // streams end on a byte boundary
          this.streams++;
          this.phase = "streamHeader";
          continue;
        }
        throw corrupt("a block does not start with the block signature");
      } catch (e) {
        if (e !== NEED_INPUT) throw e;
        this.pos = saved.pos;
        this.bitBuf = saved.bitBuf;
        this.bitCount = saved.bitCount;
        this.phase = saved.phase;
        if (eof) throw corrupt("the data is truncated");
        return NEED_INPUT;
      }
    }
  }

  /** Parses one block (after its signature) into `tt`, ready for the inverse BWT. */
  private readBlock(): void {
    this.blockCRC = ((this.bits(16) << 16) | this.bits(16)) >>> 0;
    if (this.bits(1)) throw corrupt("randomised blocks (written by bzip2 0.9.0 and older) are not supported");
    const origPtr = this.bits(24);

    // The symbol map: which byte values occur in the block.
    const seqToUnseq = this.seqToUnseq;
    let nInUse = 0;
    const used = this.bits(16);
    for (let i = 0; i < 16; i++) {
      if (used & (0x8000 >>> i)) {
        const u = this.bits(16);
        for (let j = 0; j < 16; j++) if (u & (0x8000 >>> j)) seqToUnseq[nInUse++] = i * 16 + j;
      }
    }
    if (nInUse === 0) throw corrupt("a block uses no symbols");
    const alphaSize = nInUse + 2;

    const nGroups = this.bits(3);
    if (nGroups < 2 || nGroups > MAX_GROUPS) throw corrupt("a block has an invalid number of Huffman tables");
    const nSelectors = this.bits(15);
    if (nSelectors < 1) throw corrupt("a block has no selectors");
    const groupMtf = [0, 1, 2, 3, 4, 5];
    const selectors = this.selectors;
    for (let i = 0; i < nSelectors; i++) {
      let j = 0;
      while (this.bits(1)) {
        j++;
        if (j >= nGroups) throw corrupt("a selector is out of range");
      }
      const v = groupMtf[j]!;
      for (let k = j; k > 0; k--) groupMtf[k] = groupMtf[k - 1]!;
      groupMtf[0] = v;
      if (i < MAX_SELECTORS) selectors[i] = v; // as bzip2 1.0.8: selectors past the maximum are read and ignored
    }
    const usableSelectors = Math.min(nSelectors, MAX_SELECTORS);

    const lengths = this.lengths;
    for (let t = 0; t < nGroups; t++) {
      let curr = this.bits(5);
      for (let i = 0; i < alphaSize; i++) {
        for (;;) {
          if (curr < 1 || curr > MAX_CODE_LENGTH) throw corrupt("a Huffman code length is out of range");
          if (!this.bits(1)) break;
          curr += this.bits(1) ? -1 : 1;
        }
        lengths[i] = curr;
      }
      this.tables[t]!.build(lengths, alphaSize);
    }

    // Huffman + run-length (RUNA/RUNB) + move-to-front decoding into tt.
    const maxBlock = this.blockSize * 100_000;
    if (this.tt.length < maxBlock) this.tt = new Uint32Array(maxBlock);
    const tt = this.tt;
    const counts = this.counts;
    counts.fill(0);
    const mtf = this.mtf;
    for (let i = 0; i < 256; i++) mtf[i] = i;
    const eob = nInUse + 1;

    let buf = this.buf;
    let pos = this.pos;
    const end = this.end;
    let bitBuf = this.bitBuf;
    let bitCount = this.bitCount;

    let nblock = 0;
    let selector = 0;
    let groupLeft = 0;
    let table = this.tables[0]!;
    let runLength = 0;
    let runWeight = 0;
    for (;;) {
      if (groupLeft === 0) {
        if (selector >= usableSelectors) throw corrupt("a block has more symbols than selectors");
        table = this.tables[selectors[selector++]!]!;
        groupLeft = GROUP_SIZE;
      }
      groupLeft--;

      // Decode one symbol.
      let sym = -1;
      while (bitCount < MAX_CODE_LENGTH && pos < end) {
        bitBuf = (bitBuf << 8) | buf[pos++]!;
        bitCount += 8;
      }
      if (bitCount >= MAX_CODE_LENGTH) {
        const v = (bitBuf >>> (bitCount - MAX_CODE_LENGTH)) & 0xfffff;
        const e = table.fast[v >>> (MAX_CODE_LENGTH - FAST_BITS)]!;
        if (e !== 0) {
          bitCount -= e & 31;
          sym = e >>> 5;
        } else {
          for (let l = FAST_BITS + 1; l <= table.maxLength; l++) {
            const d = (v >>> (MAX_CODE_LENGTH - l)) - table.firstCode[l]!;
            if (d >= 0 && d < table.count[l]!) {
              sym = table.symbols[table.offset[l]! + d]!;
              bitCount -= l;
              break;
            }
          }
          if (sym < 0) throw corrupt("a Huffman code is invalid");
        }
      } else {
        // Near the end of the buffered input: one bit at a time.
        let code = 0;
        for (let l = 1; ; l++) {
          if (l > table.maxLength) throw corrupt("a Huffman code is invalid");
          if (bitCount === 0) {
            if (pos >= end) throw NEED_INPUT;
            bitBuf = (bitBuf << 8) | buf[pos++]!;
            bitCount = 8;
          }
          bitCount--;
          code = (code << 1) | ((bitBuf >>> bitCount) & 1);
          const d = code - table.firstCode[l]!;
          if (d >= 0 && d < table.count[l]!) {
            sym = table.symbols[table.offset[l]! + d]!;
            break;
          }
        }
      }

      if (sym <= 1) {
        // RUNA (0) / RUNB (1): a bijective base-2 run length of the front symbol.
        if (runWeight === 0) {
          runWeight = 1;
          runLength = 0;
        }
        runLength += runWeight << sym;
        runWeight <<= 1;
        if (runLength > maxBlock || runWeight > maxBlock * 2) throw corrupt("a run exceeds the block size");
        continue;
      }
      if (runWeight !== 0) {
        runWeight = 0;
        const b = seqToUnseq[mtf[0]!]!;
        if (nblock + runLength > maxBlock) throw corrupt("a block exceeds its declared size");
        tt.fill(b, nblock, nblock + runLength);
        counts[b]! += runLength;
        nblock += runLength;
      }
      if (sym === eob) break;
      if (nblock >= maxBlock) throw corrupt("a block exceeds its declared size");
      const idx = sym - 1;
      const v = mtf[idx]!;
      if (idx < 16) {
        for (let k = idx; k > 0; k--) mtf[k] = mtf[k - 1]!;
      } else {
        mtf.copyWithin(1, 0, idx);
      }
      mtf[0] = v;
      const b = seqToUnseq[v]!;
      counts[b]!++;
      tt[nblock++] = b;
    }
    buf = this.buf;
    this.pos = pos;
    this.bitBuf = bitBuf;
    this.bitCount = bitCount;

    if (origPtr >= nblock) throw corrupt("a block's origin pointer is out of range");

    // Inverse Burrows–Wheeler transform: link each position to its successor.
    let sum = 0;
    for (let i = 0; i < 256; i++) {
      const c = counts[i]!;
      counts[i] = sum;
      sum += c;
    }
    for (let i = 0; i < nblock; i++) {
      const b = tt[i]! & 0xff;
      tt[counts[b]!++]! |= i << 8;
    }
    this.nblock = nblock;
    this.origPtr = origPtr;
  }

  /**
   * Yields the current block's bytes in chunks of about {@link OUTPUT_CHUNK},
   * undoing the initial run-length stage, and checks the block's CRC at the end.
   */
  *output(): Generator<Uint8Array, void, undefined> {
    const tt = this.tt;
    let tPos = tt[this.origPtr]! >>> 8;
    let remaining = this.nblock;
    let out = new Uint8Array(OUTPUT_CHUNK + 256);
    let o = 0;
    let crc = -1;
    let last = -1;
    let run = 0;
    while (remaining > 0) {
      tPos = tt[tPos]!;
      const b = tPos & 0xff;
      tPos >>>= 8;
      remaining--;
      if (run === 4) {
        // After four equal bytes, this byte is how many more copies follow.
        for (let k = 0; k < b; k++) {
          out[o++] = last;
          crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ last) & 0xff]!;
        }
        run = 0;
      } else {
        if (b === last) run++;
        else {
          last = b;
          run = 1;
        }
        out[o++] = b;
        crc = (crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!;
      }
      if (o >= OUTPUT_CHUNK) {
        yield out.subarray(0, o);
        out = new Uint8Array(OUTPUT_CHUNK + 256);
        o = 0;
      }
    }
    if (o > 0) yield out.subarray(0, o);
    const blockCRC = ~crc >>> 0;
    if (blockCRC !== this.blockCRC) throw corrupt("a block's checksum does not match (the data is corrupt)");
    this.streamCRC = (((this.streamCRC << 1) | (this.streamCRC >>> 31)) ^ blockCRC) >>> 0;
  }
}

/**
 * Decompresses bzip2 `source` (one stream or several concatenated). Input is
 * pulled a block's worth at a time (about 1 MiB at most for `-9` data);
 * output is yielded in chunks of about 128 KiB as the consumer asks for them.
 */
export async function* decompressBzip2(source: BlobStream, signal?: AbortSignal): AsyncGenerator<Uint8Array, void, undefined> {
  throwIfAborted(signal);
  const it = source[Symbol.asyncIterator]();
  const decoder = new Bzip2Decoder();
  let eof = false;
  let wanted = decoder.wanted();
  const pull = nextOrAbort(it, signal);
  try {
    for (;;) {
      if (!eof && decoder.available() < wanted) {
        const r = await pull.next();
        if (r.done) eof = true;
        else decoder.append(r.value);
        continue;
      }
      const step = decoder.next(eof);
      if (step === NEED_INPUT) {
        // The block is larger than expected: gather more before trying again.
        wanted = Math.max(decoder.wanted(), decoder.available() * 2);
        continue;
      }
      if (step === "end") return;
      for (const chunk of decoder.output()) {
        yield chunk;
        throwIfAborted(signal);
      }
      wanted = decoder.wanted();
    }
  } finally {
    if (!eof) await pull.close();
  }
}
