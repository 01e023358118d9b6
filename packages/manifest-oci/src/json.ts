/**
 * The JSON rules every manifest package shares: a strict reader that keeps
 * each value's exact text (so values can be passed on byte for byte), refuses
 * documents over the manifest size limit or nested too deeply, and an encoder
 * that writes what Go's `encoding/json` writes (field order as given, map keys
 * sorted, `<`, `>`, `&`, U+2028 and U+2029 escaped), so that a converted
 * manifest has the same bytes — and digest — as the Go library's.
 */
import { InvalidManifestError, SizeLimitExceededError, SizeLimits } from "@stevedore/types";

/** The largest manifest accepted, in bytes (4 MiB, as the Go library and docker/distribution). */
export const MAX_MANIFEST_SIZE: number = SizeLimits.manifest;

/** The deepest nesting of arrays and objects accepted in a manifest or config. */
export const MAX_JSON_DEPTH = 256;

/** A JSON object; `entries` keeps every member in document order, duplicates included. */
export interface JSONObjectNode {
  readonly kind: "object";
  readonly entries: ReadonlyArray<readonly [string, JSONNode]>;
  /** Offsets of the value in the document text (`text.slice(start, end)` is its source). */
  readonly start: number;
  readonly end: number;
}
/** A JSON array. */
export interface JSONArrayNode {
  readonly kind: "array";
  readonly items: readonly JSONNode[];
  readonly start: number;
  readonly end: number;
}
/** A JSON string, decoded. */
export interface JSONStringNode {
  readonly kind: "string";
  readonly value: string;
  readonly start: number;
  readonly end: number;
}
/** A JSON number, kept as its source text. */
export interface JSONNumberNode {
  readonly kind: "number";
  readonly raw: string;
  readonly start: number;
  readonly end: number;
}
/** `true` or `false`. */
export interface JSONBooleanNode {
  readonly kind: "boolean";
  readonly value: boolean;
  readonly start: number;
  readonly end: number;
}
/** `null`. */
export interface JSONNullNode {
  readonly kind: "null";
  readonly start: number;
  readonly end: number;
}
/** Any parsed JSON value. */
export type JSONNode = JSONObjectNode | JSONArrayNode | JSONStringNode | JSONNumberNode | JSONBooleanNode | JSONNullNode;

/** A parsed JSON document: its text and its root value. */
export interface JSONDocument {
  readonly text: string;
  readonly root: JSONNode;
}

/** Options of {@link parseJSONDocument}. */
export interface ParseJSONOptions {
  /** Names the document in error messages, e.g. "OCI image manifest". */
  what?: string;
  /** Size limit in bytes; default {@link MAX_MANIFEST_SIZE}. */
  maxSize?: number;
  /** Nesting limit; default {@link MAX_JSON_DEPTH}. */
  maxDepth?: number;
}

const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

/**
 * Parses `input` (UTF-8 bytes or a string) strictly as one JSON value:
 * invalid UTF-8, a byte-order mark, control characters in strings, trailing
 * data, documents over `maxSize` bytes ({@link SizeLimitExceededError}) and
 * nesting deeper than `maxDepth` all fail with a typed error naming the
 * document and the offset. Duplicate object keys are kept (the last one wins
 * for lookups, as in Go and `JSON.parse`).
 */
export function parseJSONDocument(input: Uint8Array | string, options: ParseJSONOptions = {}): JSONDocument {
  const what = options.what ?? "manifest";
  const maxSize = options.maxSize ?? MAX_MANIFEST_SIZE;
  let text: string;
  if (typeof input === "string") {
    if (input.length > maxSize || utf8Encoder.encode(input).byteLength > maxSize) {
      throw new SizeLimitExceededError(`${what} is larger than the limit of ${maxSize} bytes`);
    }
    text = input;
  } else {
    if (input.byteLength > maxSize) {
      throw new SizeLimitExceededError(`${what} is ${input.byteLength} bytes, larger than the limit of ${maxSize} bytes`);
    }
    try {
      text = utf8Decoder.decode(input);
    } catch (e) {
      throw new InvalidManifestError(`invalid ${what}: not valid UTF-8`, { cause: e });
    }
  }
  const parser = new Parser(text, what, options.maxDepth ?? MAX_JSON_DEPTH);
  return { text, root: parser.document() };
}

class Parser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly what: string,
    private readonly maxDepth: number,
  ) {}

  document(): JSONNode {
    this.ws();
    if (this.pos >= this.text.length) this.fail("empty document");
    const v = this.value(0);
    this.ws();
    if (this.pos < this.text.length) this.fail("unexpected data after the JSON value");
    return v;
  }

  private fail(msg: string, at = this.pos): never {
    throw new InvalidManifestError(`invalid ${this.what}: not valid JSON: ${msg} at offset ${at}`);
  }

  private ws(): void {
    const t = this.text;
    let p = this.pos;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) p++;
      else break;
    }
    this.pos = p;
  }

  private value(depth: number): JSONNode {
    const t = this.text;
    const start = this.pos;
    const c = t.charCodeAt(start);
    switch (c) {
      case 0x7b /* { */: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
        this.pos++;
        const entries: Array<readonly [string, JSONNode]> = [];
        this.ws();
        if (t.charCodeAt(this.pos) === 0x7d) {
          this.pos++;
          return { kind: "object", entries, start, end: this.pos };
        }
        for (;;) {
          this.ws();
          if (t.charCodeAt(this.pos) !== 0x22) this.fail("expected a string key");
          const key = this.string();
          this.ws();
          if (t.charCodeAt(this.pos) !== 0x3a) this.fail('expected ":"');
          this.pos++;
          this.ws();
          entries.push([key, this.value(depth + 1)]);
          this.ws();
          const d = t.charCodeAt(this.pos);
          if (d === 0x2c) {
            this.pos++;
            continue;
          }
          if (d === 0x7d) {
            this.pos++;
            return { kind: "object", entries, start, end: this.pos };
          }
          this.fail('expected "," or "}"');
        }
      }
      case 0x5b /* [ */: {
        if (depth >= this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth} levels`);
        this.pos++;
        const items: JSONNode[] = [];
        this.ws();
        if (t.charCodeAt(this.pos) === 0x5d) {
          this.pos++;
          return { kind: "array", items, start, end: this.pos };
        }
        for (;;) {
          this.ws();
          items.push(this.value(depth + 1));
          this.ws();
          const d = t.charCodeAt(this.pos);
          if (d === 0x2c) {
            this.pos++;
            continue;
          }
          if (d === 0x5d) {
            this.pos++;
            return { kind: "array", items, start, end: this.pos };
          }
          this.fail('expected "," or "]"');
        }
      }
      case 0x22: {
        const value = this.string();
        return { kind: "string", value, start, end: this.pos };
      }
      case 0x74:
        return this.literal("true", { kind: "boolean", value: true, start, end: start + 4 });
      case 0x66:
        return this.literal("false", { kind: "boolean", value: false, start, end: start + 5 });
      case 0x6e:
        return this.literal("null", { kind: "null", start, end: start + 4 });
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        if (Number.isNaN(c)) this.fail("unexpected end of data");
        this.fail(`unexpected character ${JSON.stringify(t[start])}`);
    }
  }

  private literal<T extends JSONNode>(word: string, node: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail("invalid literal");
    this.pos += word.length;
    return node;
  }

  private number(): JSONNumberNode {
    const t = this.text;
    const start = this.pos;
    let p = start;
    const digit = (i: number) => {
      const c = t.charCodeAt(i);
      return c >= 0x30 && c <= 0x39;
    };
    if (t.charCodeAt(p) === 0x2d) p++;
    if (t.charCodeAt(p) === 0x30) p++;
    else if (digit(p)) while (digit(p)) p++;
    else this.fail("invalid number", p);
    if (t.charCodeAt(p) === 0x2e) {
      p++;
      if (!digit(p)) this.fail("invalid number", p);
      while (digit(p)) p++;
    }
    const e = t.charCodeAt(p);
    if (e === 0x65 || e === 0x45) {
      p++;
      const s = t.charCodeAt(p);
      if (s === 0x2b || s === 0x2d) p++;
      if (!digit(p)) this.fail("invalid number", p);
      while (digit(p)) p++;
    }
    this.pos = p;
    return { kind: "number", raw: t.slice(start, p), start, end: p };
  }

  private string(): string {
    const t = this.text;
    let p = this.pos + 1;
    let out = "";
    let runStart = p;
    for (;;) {
      if (p >= t.length) this.fail("unterminated string");
      const c = t.charCodeAt(p);
      if (c === 0x22) {
        out += t.slice(runStart, p);
        this.pos = p + 1;
        return out;
      }
      if (c < 0x20) this.fail("control character in string", p);
      if (c !== 0x5c) {
        p++;
        continue;
      }
      out += t.slice(runStart, p);
      const e = t[p + 1];
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const cu = this.hex4(p + 2);
          p += 6;
          if (cu >= 0xd800 && cu < 0xdc00) {
            // A high surrogate must be followed by an escaped low one; Go
            // replaces an unpaired surrogate with U+FFFD, and so do we.
            if (t[p] === "\\" && t[p + 1] === "u") {
              const lo = this.hex4(p + 2);
              if (lo >= 0xdc00 && lo < 0xe000) {
                out += String.fromCharCode(cu, lo);
                p += 6;
                runStart = p;
                continue;
              }
            }
            out += "\ufffd";
          } else if (cu >= 0xdc00 && cu < 0xe000) {
            out += "\ufffd";
          } else {
            out += String.fromCharCode(cu);
          }
          runStart = p;
          continue;
        }
        default:
          this.fail("invalid escape in string", p);
      }
      p += 2;
      runStart = p;
    }
  }

  private hex4(at: number): number {
    const s = this.text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(s)) this.fail("invalid \\u escape", at);
    return parseInt(s, 16);
  }
}

// ---------------------------------------------------------------------------
// Reading typed fields

/** A short description of a node's JSON type, for error messages. */
export function jsonKind(node: JSONNode): string {
  return node.kind === "object" ? "an object" : node.kind === "array" ? "an array" : `a ${node.kind}`;
}

/**
 * Reads the members of a JSON object that is decoded into a known structure.
 * Field names are case-sensitive; a member whose name differs from a known
 * field only by case is refused, because Go's decoder (which matches names
 * case-insensitively) would read the document differently.
 */
export class ObjectReader {
  private readonly map = new Map<string, JSONNode>();

  /**
   * @param node the object to read
   * @param where path of the object for error messages, e.g. "layers[2]"
   * @param fail builds the error thrown for an invalid member
   * @param known the field names of the structure
   */
  constructor(
    readonly node: JSONObjectNode,
    readonly where: string,
    private readonly fail: (message: string, cause?: unknown) => Error,
    known: readonly string[],
  ) {
    const lower = new Map(known.map((k) => [k.toLowerCase(), k]));
    for (const [k, v] of node.entries) {
      const canonical = lower.get(k.toLowerCase());
      if (canonical !== undefined && canonical !== k) {
        throw fail(`${this.path(k)}: unexpected field "${k}" (did you mean "${canonical}"? field names are case-sensitive)`);
      }
      this.map.set(k, v);
    }
  }

  /** `where.key`, for messages. */
  path(key: string): string {
    return this.where ? `${this.where}.${key}` : key;
  }

  /** Throws the reader's error for `key`. */
  error(key: string, message: string, cause?: unknown): Error {
    return this.fail(`${this.path(key)}: ${message}`, cause);
  }

  /** The member (last occurrence); JSON `null` counts as absent. */
  get(key: string): JSONNode | undefined {
    const v = this.map.get(key);
    return v === undefined || v.kind === "null" ? undefined : v;
  }

  /** Whether the member is present (even as `null`). */
  has(key: string): boolean {
    return this.map.has(key);
  }

  /** A string member; `undefined` when absent and not required. */
  string(key: string, required: true): string;
  string(key: string, required?: boolean): string | undefined;
  string(key: string, required = false): string | undefined {
    const v = this.get(key);
    if (v === undefined) {
      if (required) throw this.error(key, "missing");
      return undefined;
    }
    if (v.kind !== "string") throw this.error(key, `must be a string, got ${jsonKind(v)}`);
    return v.value;
  }

  /** A non-negative integer member (a safe integer written without fraction or exponent). */
  size(key: string, required: true): number;
  size(key: string, required?: boolean): number | undefined;
  size(key: string, required = false): number | undefined {
    const v = this.get(key);
    if (v === undefined) {
      if (required) throw this.error(key, "missing");
      return undefined;
    }
    return readNonNegativeInteger(v, (m) => this.error(key, m));
  }

  /** An array member. */
  array(key: string, required: true): JSONArrayNode;
  array(key: string, required?: boolean): JSONArrayNode | undefined;
  array(key: string, required = false): JSONArrayNode | undefined {
    const v = this.get(key);
    if (v === undefined) {
      if (required) throw this.error(key, "missing");
      return undefined;
    }
    if (v.kind !== "array") throw this.error(key, `must be an array, got ${jsonKind(v)}`);
    return v;
  }

  /** An object member. */
  object(key: string, required: true): JSONObjectNode;
  object(key: string, required?: boolean): JSONObjectNode | undefined;
  object(key: string, required = false): JSONObjectNode | undefined {
    const v = this.get(key);
    if (v === undefined) {
      if (required) throw this.error(key, "missing");
      return undefined;
    }
    if (v.kind !== "object") throw this.error(key, `must be an object, got ${jsonKind(v)}`);
    return v;
  }

  /** An array of strings. */
  stringArray(key: string): string[] | undefined {
    const a = this.array(key);
    if (a === undefined) return undefined;
    return a.items.map((item, i) => {
      if (item.kind !== "string") throw this.error(`${key}[${i}]`, `must be a string, got ${jsonKind(item)}`);
      return item.value;
    });
  }

  /** An object whose values are all strings (annotations, labels). */
  stringMap(key: string): Record<string, string> | undefined {
    const o = this.object(key);
    if (o === undefined) return undefined;
    const out: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of o.entries) {
      if (v.kind !== "string") throw this.error(`${key}[${JSON.stringify(k)}]`, `must be a string, got ${jsonKind(v)}`);
      out[k] = v.value;
    }
    return { ...out };
  }
}

/** Reads a non-negative safe integer; `fail` builds the error. */
export function readNonNegativeInteger(v: JSONNode, fail: (message: string) => Error): number {
  if (v.kind !== "number") throw fail(`must be an integer, got ${jsonKind(v)}`);
  if (v.raw.startsWith("-")) throw fail(`must not be negative, got ${v.raw}`);
  if (!/^(0|[1-9][0-9]*)$/.test(v.raw)) throw fail(`must be an integer, got ${v.raw}`);
  const n = Number(v.raw);
  if (!Number.isSafeInteger(n)) throw fail(`is too large (${v.raw})`);
  return n;
}

/**
 * The top-level fields that identify a manifest format. A document carrying
 * one that its format does not allow is refused as ambiguous.
 */
export const ESSENTIAL_MANIFEST_FIELDS = ["config", "fsLayers", "history", "layers", "manifests"] as const;

/**
 * Refuses a document that also looks like another manifest format: one with
 * an essential field (compared case-insensitively, as Go's decoder matches
 * names) other than `allowed`.
 */
export function rejectAmbiguousFields(root: JSONObjectNode, what: string, allowed: readonly string[]): void {
  const allowedLower = new Set(allowed.map((a) => a.toLowerCase()));
  const unexpected = new Set<string>();
  for (const [k] of root.entries) {
    const lower = k.toLowerCase();
    for (const f of ESSENTIAL_MANIFEST_FIELDS) {
      if (f.toLowerCase() === lower && !allowedLower.has(lower)) unexpected.add(k);
    }
  }
  if (unexpected.size > 0) {
    throw new InvalidManifestError(
      `rejecting ambiguous manifest: a ${what} must not contain ${[...unexpected].map((u) => `"${u}"`).join(", ")}`,
    );
  }
}

// ---------------------------------------------------------------------------
// Go-compatible encoding

const HEX = "0123456789abcdef";

/**
 * A JSON string literal as Go's `encoding/json` writes it: `"` and `\`
 * escaped, `\n`, `\r`, `\t`, `\b`, `\f`, other control characters as
 * `\u00XX`, and `<`, `>`, `&`, U+2028, U+2029 as `\u` escapes.
 */
export function goQuote(s: string): string {
  let out = '"';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let esc: string | undefined;
    if (c < 0x20) {
      esc =
        c === 0x0a ? "\\n" : c === 0x0d ? "\\r" : c === 0x09 ? "\\t" : c === 0x08 ? "\\b" : c === 0x0c ? "\\f" : `\\u00${HEX[c >> 4]}${HEX[c & 15]}`;
    } else if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = "\\\\";
    else if (c === 0x3c) esc = "\\u003c";
    else if (c === 0x3e) esc = "\\u003e";
    else if (c === 0x26) esc = "\\u0026";
    else if (c === 0x2028) esc = "\\u2028";
    else if (c === 0x2029) esc = "\\u2029";
    else if (c >= 0xd800 && c < 0xe000) {
      // Strings from our parser and from callers are well-formed except for
      // lone surrogates, which Go (working on UTF-8) writes as U+FFFD.
      const next = s.charCodeAt(i + 1);
      if (c < 0xdc00 && next >= 0xdc00 && next < 0xe000) {
        i++;
        continue;
      }
      esc = "\ufffd";
    }
    if (esc !== undefined) {
      out += s.slice(run, i) + esc;
      run = i + 1;
    }
  }
  return out + s.slice(run) + '"';
}

/**
 * Compacts JSON text as Go's `json.Compact` with HTML escaping (what
 * `json.Marshal` does to a `json.RawMessage`): whitespace outside strings is
 * removed, `<`, `>`, `&`, U+2028 and U+2029 are escaped, everything else —
 * number spelling, existing escapes — is kept as written.
 */
export function goCompact(raw: string): string {
  let out = "";
  let inString = false;
  let run = 0;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    let rep: string | undefined;
    if (inString) {
      if (c === 0x5c) {
        i++;
        continue;
      }
      if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) rep = "";
    if (c === 0x3c) rep = "\\u003c";
    else if (c === 0x3e) rep = "\\u003e";
    else if (c === 0x26) rep = "\\u0026";
    else if (c === 0x2028) rep = "\\u2028";
    else if (c === 0x2029) rep = "\\u2029";
    if (rep !== undefined) {
      out += raw.slice(run, i) + rep;
      run = i + 1;
    }
  }
  return out + raw.slice(run);
}

/** The compact Go encoding of a parsed node, its spelling kept (see {@link goCompact}). */
export function goCompactNode(doc: JSONDocument, node: JSONNode): string {
  return goCompact(doc.text.slice(node.start, node.end));
}

/** Compares two strings by Unicode code point (= UTF-8 byte order, Go's map key order). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x < 0xe000;
    const ys = y >= 0xd800 && y < 0xe000;
    if (xs !== ys) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/**
 * A JSON object with members in the given order, as Go writes a struct;
 * members whose value is `undefined` (an empty `omitempty` field) are left out.
 */
export function goObject(members: ReadonlyArray<readonly [string, string | undefined]>): string {
  const parts: string[] = [];
  for (const [k, v] of members) if (v !== undefined) parts.push(`${goQuote(k)}:${v}`);
  return `{${parts.join(",")}}`;
}

/** A JSON object with keys sorted, as Go writes a map. */
export function goMap<T>(record: Readonly<Record<string, T>> | ReadonlyMap<string, T>, encode: (v: T) => string): string {
  const entries: Array<[string, T]> = record instanceof Map ? [...record.entries()] : Object.entries(record);
  entries.sort((a, b) => compareCodePoints(a[0], b[0]));
  return `{${entries.map(([k, v]) => `${goQuote(k)}:${encode(v)}`).join(",")}}`;
}

/** A sorted map of strings. */
export function goStringMap(record: Readonly<Record<string, string>>): string {
  return goMap(record, goQuote);
}

/** A JSON array. */
export function goArray<T>(items: readonly T[], encode: (v: T) => string): string {
  return `[${items.map(encode).join(",")}]`;
}

/**
 * Indents compact JSON as Go's `json.MarshalIndent(v, prefix, indent)`:
 * a newline after `{`/`[` and `,`, `": "` between key and value, and empty
 * objects and arrays kept as `{}`/`[]`.
 */
export function goIndent(compact: string, indent = "    ", prefix = ""): string {
  let out = "";
  let depth = 0;
  let inString = false;
  const nl = () => "\n" + prefix + indent.repeat(depth);
  for (let i = 0; i < compact.length; i++) {
    const ch = compact[i] as string;
    if (inString) {
      out += ch;
      if (ch === "\\") {
        out += compact[i + 1] ?? "";
        i++;
      } else if (ch === '"') inString = false;
      continue;
    }
    switch (ch) {
      case '"':
        inString = true;
        out += ch;
        break;
      case "{":
      case "[": {
        const close = ch === "{" ? "}" : "]";
        if (compact[i + 1] === close) {
          out += ch + close;
          i++;
        } else {
          depth++;
          out += ch + nl();
        }
        break;
      }
      case "}":
      case "]":
        depth--;
        out += nl() + ch;
        break;
      case ",":
        out += "," + nl();
        break;
      case ":":
        out += ": ";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

/** UTF-8 bytes of JSON text. */
export function jsonBytes(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

// ---------------------------------------------------------------------------
// Go time.Time

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** The text Go writes for the zero `time.Time`. */
export const GO_ZERO_TIME = "0001-01-01T00:00:00Z";

/**
 * Normalises an RFC 3339 timestamp as Go's `time.Time` does when it is read
 * from JSON and written back: the fraction loses trailing zeros (and is
 * truncated to nanoseconds), a zero offset becomes `Z`, other offsets are
 * kept. Returns undefined when Go would refuse the text.
 */
export function normalizeGoTime(s: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(s);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, sec, frac, zone] = m as unknown as [string, string, string, string, string, string, string, string | undefined, string];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12) return undefined;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const dim = month === 2 && leap ? 29 : (DAYS_IN_MONTH[month - 1] as number);
  if (day < 1 || day > dim) return undefined;
  if (Number(h) > 23 || Number(mi) > 59 || Number(sec) > 59) return undefined;
  let z = zone;
  if (z !== "Z") {
    const zh = Number(z.slice(1, 3));
    const zm = Number(z.slice(4, 6));
    if (zh > 23 || zm > 59) return undefined;
    if (zh === 0 && zm === 0) z = "Z";
  }
  let f = "";
  if (frac !== undefined) {
    f = frac.slice(0, 9).replace(/0+$/, "");
    if (f) f = "." + f;
  }
  return `${y}-${mo}-${d}T${h}:${mi}:${sec}${f}${z}`;
}
