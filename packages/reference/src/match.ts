/**
 * Shell-style pattern matching with the semantics of Go's `path.Match`,
 * used by `familiarMatch`.
 *
 * @module
 */

import { invalid, requireString, Rule } from "./internal/errors.js";

const SLASH = 0x2f;
const STAR = 0x2a;
const QUESTION = 0x3f;
const BACKSLASH = 0x5c;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const CARET = 0x5e;
const DASH = 0x2d;

const encoder = new TextEncoder();

/** A malformed pattern; turned into an InvalidReferenceError by pathMatch. */
class BadPattern {}

/**
 * Decodes one UTF-8 code point at `i`: `[codePoint, length]`, or
 * `[-1, 1]` for an invalid or truncated sequence (Go's RuneError with
 * width 1).
 */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const c = b[i] ?? 0;
  if (c < 0x80) return [c, 1];
  let need: number;
  let cp: number;
  let min: number;
  if (c >= 0xc2 && c <= 0xdf) [need, cp, min] = [1, c & 0x1f, 0x80];
  else if (c >= 0xe0 && c <= 0xef) [need, cp, min] = [2, c & 0x0f, 0x800];
  else if (c >= 0xf0 && c <= 0xf4) [need, cp, min] = [3, c & 0x07, 0x10000];
  else return [-1, 1];
  for (let k = 1; k <= need; k++) {
    const cc = b[i + k];
    if (cc === undefined || (cc & 0xc0) !== 0x80) return [-1, 1];
    cp = (cp << 6) | (cc & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return [-1, 1];
  return [cp, need + 1];
}

/** Splits off the next chunk: leading stars, then everything up to the next unbracketed star. */
function scanChunk(p: Uint8Array, start: number): { star: boolean; chunkStart: number; chunkEnd: number } {
  let i = start;
  let star = false;
  while (i < p.length && p[i] === STAR) {
    i++;
    star = true;
  }
  const chunkStart = i;
  let inRange = false;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === BACKSLASH) {
      if (i + 1 < p.length) i++;
    } else if (c === LBRACKET) {
      inRange = true;
    } else if (c === RBRACKET) {
      inRange = false;
    } else if (c === STAR && !inRange) {
      break;
    }
  }
  return { star, chunkStart, chunkEnd: i };
}

/** Reads a possibly escaped character of a class; returns `[codePoint, next]`. */
function getEsc(p: Uint8Array, i: number, end: number): [number, number] {
  if (i >= end || p[i] === DASH || p[i] === RBRACKET) throw new BadPattern();
  if (p[i] === BACKSLASH) {
    i++;
    if (i >= end) throw new BadPattern();
  }
  const [r, n] = decodeRune(p.subarray(0, end), i);
  if (r === -1) throw new BadPattern();
  const next = i + n;
  if (next >= end) throw new BadPattern();
  return [r, next];
}

/**
 * Matches the chunk `p[cs, ce)` against the start of `s[si, …)`. Returns
 * the index in `s` after the match, or -1. After a mismatch the rest of the
 * chunk is still parsed so that a malformed chunk always throws.
 */
function matchChunk(p: Uint8Array, cs: number, ce: number, s: Uint8Array, si: number): number {
  let failed = false;
  let i = cs;
  while (i < ce) {
    if (!failed && si >= s.length) failed = true;
    const c = p[i];
    if (c === LBRACKET) {
      let r = -2;
      if (!failed) {
        const [cp, n] = decodeRune(s, si);
        r = cp;
        si += n;
      }
      i++;
      let negated = false;
      if (i < ce && p[i] === CARET) {
        negated = true;
        i++;
      }
      let match = false;
      let nrange = 0;
      for (;;) {
        if (i < ce && p[i] === RBRACKET && nrange > 0) {
          i++;
          break;
        }
        let lo: number;
        let hi: number;
        [lo, i] = getEsc(p, i, ce);
        hi = lo;
        if (p[i] === DASH) [hi, i] = getEsc(p, i + 1, ce);
        if (lo <= r && r <= hi) match = true;
        nrange++;
      }
      if (match === negated) failed = true;
    } else if (c === QUESTION) {
      if (!failed) {
        if (s[si] === SLASH) failed = true;
        si += decodeRune(s, si)[1];
      }
      i++;
    } else {
      if (c === BACKSLASH) {
        i++;
        if (i >= ce) throw new BadPattern();
      }
      if (!failed) {
        if (p[i] !== s[si]) failed = true;
        si++;
      }
      i++;
    }
  }
  return failed ? -1 : si;
}

function match(p: Uint8Array, s: Uint8Array): boolean {
  let pi = 0;
  let si = 0;
  pattern: while (pi < p.length) {
    const { star, chunkStart, chunkEnd } = scanChunk(p, pi);
    pi = chunkEnd;
    if (star && chunkStart === chunkEnd) return s.indexOf(SLASH, si) < 0;
    const t = matchChunk(p, chunkStart, chunkEnd, s, si);
    if (t >= 0 && (t === s.length || pi < p.length)) {
      si = t;
      continue;
    }
    if (star) {
      for (let i = si; i < s.length && s[i] !== SLASH; i++) {
        const t2 = matchChunk(p, chunkStart, chunkEnd, s, i + 1);
        if (t2 >= 0) {
          if (pi === p.length && t2 < s.length) continue;
          si = t2;
          continue pattern;
        }
      }
    }
    // Before answering "no", make sure the rest of the pattern is well-formed.
    while (pi < p.length) {
      const next = scanChunk(p, pi);
      pi = next.chunkEnd;
      matchChunk(p, next.chunkStart, next.chunkEnd, new Uint8Array(0), 0);
    }
    return false;
  }
  return si === s.length;
}

/**
 * Whether `name` matches the shell pattern `pattern`, exactly as Go's
 * `path.Match` decides it: `*` matches any run of characters except `/`,
 * `?` one character except `/`, `[…]` a character class (`^` negates,
 * `a-z` ranges, `\` escapes), `\c` the character c. The whole of `name`
 * must match. Matching works on UTF-8 bytes like Go. A malformed pattern
 * throws `InvalidReferenceError` ("syntax error in pattern").
 */
export function pathMatch(pattern: string, name: string): boolean {
  requireString(pattern);
  requireString(name);
  try {
    return match(encoder.encode(pattern), encoder.encode(name));
  } catch (e) {
    if (e instanceof BadPattern) throw invalid(pattern, Rule.badPattern);
    throw e;
  }
}
