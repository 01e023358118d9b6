/**
 * Base64 and PEM, strictly and without Node's Buffer.
 *
 * @module
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUES = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUES[ALPHABET.charCodeAt(i)] = i;

/** Standard base64 with padding. */
export function base64Encode(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += ALPHABET.charAt(n >> 18) + ALPHABET.charAt((n >> 12) & 63) + ALPHABET.charAt((n >> 6) & 63) + ALPHABET.charAt(n & 63);
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += `${ALPHABET.charAt(n >> 18)}${ALPHABET.charAt((n >> 12) & 63)}==`;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += `${ALPHABET.charAt(n >> 18)}${ALPHABET.charAt((n >> 12) & 63)}${ALPHABET.charAt((n >> 6) & 63)}=`;
  }
  return out;
}

/**
 * Decodes standard, padded base64 (as Go's `base64.StdEncoding`, which
 * cosign and containers/image use): the length must be a multiple of 4,
 * padding only at the end, no whitespace. Returns undefined when `text` is
 * not such base64.
 */
export function base64Decode(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0) return undefined;
  let pad = 0;
  if (text.endsWith("==")) pad = 2;
  else if (text.endsWith("=")) pad = 1;
  const out = new Uint8Array((text.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    let n = 0;
    const last = i + 4 === text.length;
    for (let k = 0; k < 4; k++) {
      const code = text.charCodeAt(i + k);
      if (last && k >= 4 - pad) {
        if (code !== 0x3d) return undefined;
        n <<= 6;
        continue;
      }
      const v = code < 128 ? (VALUES[code] as number) : -1;
      if (v < 0) return undefined;
      n = (n << 6) | v;
    }
    out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** One PEM block. */
export interface PemBlock {
  /** The label, e.g. `PUBLIC KEY`. */
  type: string;
  /** The decoded body. */
  bytes: Uint8Array;
}

/** Raised for malformed PEM; callers turn it into their own typed error. */
export class PemError extends Error {}

const decoder = new TextDecoder("utf-8", { fatal: true });

/** `input` as text; PemError when it is not UTF-8. */
export function asText(input: Uint8Array | string): string {
  if (typeof input === "string") return input;
  try {
    return decoder.decode(input);
  } catch {
    throw new PemError("the data is not UTF-8 text");
  }
}

const BEGIN = /^-----BEGIN ([\x21-\x2c\x2e-\x7e](?:[\x20-\x2c\x2e-\x7e]*[\x21-\x2c\x2e-\x7e])?)-----[ \t]*$/;

/**
 * The first PEM block in `input` (text before and after it is ignored, as
 * Go's `pem.Decode` does). Throws PemError when there is none, when it is
 * not terminated by the matching END line, when it has headers, or when
 * its body is not valid base64.
 */
export function firstPemBlock(input: Uint8Array | string): PemBlock {
  const lines = asText(input).split(/\r?\n/);
  const start = lines.findIndex((l) => BEGIN.test(l));
  if (start < 0) throw new PemError("no PEM block (-----BEGIN ...-----) was found");
  const type = (BEGIN.exec(lines[start] as string) as RegExpExecArray)[1] as string;
  const endLine = `-----END ${type}-----`;
  let body = "";
  for (let i = start + 1; i < lines.length; i++) {
    const line = (lines[i] as string).trim();
    if (line === endLine) {
      const bytes = base64Decode(body);
      if (bytes === undefined) throw new PemError(`the body of the PEM block "${type}" is not valid base64`);
      if (bytes.length === 0) throw new PemError(`the PEM block "${type}" is empty`);
      return { type, bytes };
    }
    if (line.startsWith("-----")) throw new PemError(`the PEM block "${type}" ends with ${JSON.stringify(line)} instead of ${JSON.stringify(endLine)}`);
    if (line.includes(":")) throw new PemError(`the PEM block "${type}" has headers, which are not supported`);
    body += line;
  }
  throw new PemError(`the PEM block "${type}" has no ${JSON.stringify(endLine)} line`);
}

/** A PEM block with 64-character lines, ending in a newline. */
export function pemEncode(type: string, bytes: Uint8Array): string {
  const b64 = base64Encode(bytes);
  let out = `-----BEGIN ${type}-----\n`;
  for (let i = 0; i < b64.length; i += 64) out += `${b64.slice(i, i + 64)}\n`;
  return `${out}-----END ${type}-----\n`;
}
