/**
 * A strict JSON reader for security-relevant documents (signature payloads,
 * policy.json): besides the JSON grammar it refuses duplicate object keys,
 * trailing data, a byte-order mark, invalid UTF-8 and nesting deeper than a
 * limit, and every error names the JSON path where it happened.
 *
 * @module
 */

/** A JSON value as {@link parseJsonStrictly} returns it; objects have no prototype. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;

/** A JSON object: a prototype-less record, so keys such as `__proto__` are plain data. */
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** A location in a JSON document: object keys and array indexes from the top. */
export type JsonPath = readonly (string | number)[];

/** Options of {@link parseJsonStrictly}. */
export interface StrictJsonOptions {
  /** Makes the error to throw; receives the message (which names the path) and the path itself. */
  error: (message: string, path: JsonPath) => Error;
  /** Deepest nesting of arrays and objects accepted; default 64. */
  maxDepth?: number;
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

/**
 * Formats a JSON path the way policy.json errors show it:
 * `transports.docker["quay.io"][0].keyPath`; the empty path is `(top level)`.
 */
export function formatJsonPath(path: JsonPath): string {
  let s = "";
  for (const p of path) {
    if (typeof p === "number") s += `[${p}]`;
    else if (IDENT.test(p)) s += s === "" ? p : `.${p}`;
    else s += `[${JSON.stringify(p)}]`;
  }
  return s === "" ? "(top level)" : s;
}

/** Whether `v` is a JSON object (not null, not an array). */
export function isJsonObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A name for the JSON type of `v`, for error messages. */
export function jsonTypeName(v: JsonValue | undefined): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v}`;
}

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Parses one JSON value from `input` (UTF-8 bytes or a string) strictly:
 * RFC 8259 grammar only, no duplicate keys in an object, nothing but
 * whitespace after the value, no byte-order mark. Throws the error made by
 * `options.error`, with a message naming the JSON path; never anything else.
 */
export function parseJsonStrictly(input: Uint8Array | string, options: StrictJsonOptions): JsonValue {
  let text: string;
  if (typeof input === "string") {
    text = input;
  } else {
    try {
      text = decoder.decode(input);
    } catch {
      throw options.error("the document is not valid UTF-8", []);
    }
  }
  return new Reader(text, options).document();
}

const WS = new Set([0x20, 0x09, 0x0a, 0x0d]);

class Reader {
  readonly #s: string;
  readonly #error: StrictJsonOptions["error"];
  readonly #maxDepth: number;
  #i = 0;
  readonly #path: (string | number)[] = [];

  constructor(s: string, options: StrictJsonOptions) {
    this.#s = s;
    this.#error = options.error;
    this.#maxDepth = options.maxDepth ?? 64;
  }

  #fail(what: string): never {
    const at = formatJsonPath(this.#path);
    throw this.#error(`invalid JSON at ${at} (offset ${this.#i}): ${what}`, [...this.#path]);
  }

  #ws(): void {
    while (this.#i < this.#s.length && WS.has(this.#s.charCodeAt(this.#i))) this.#i++;
  }

  #describeNext(): string {
    if (this.#i >= this.#s.length) return "the end of the document";
    return `the character ${JSON.stringify(this.#s.slice(this.#i, this.#i + 1))}`;
  }

  document(): JsonValue {
    if (this.#s.charCodeAt(0) === 0xfeff) this.#fail("a byte-order mark is not allowed");
    this.#ws();
    const v = this.#value(0);
    this.#ws();
    if (this.#i !== this.#s.length) {
      this.#path.length = 0;
      this.#fail(`unexpected data after the JSON value: ${this.#describeNext()}`);
    }
    return v;
  }

  #value(depth: number): JsonValue {
    const c = this.#s[this.#i];
    switch (c) {
      case "{":
        return this.#object(depth + 1);
      case "[":
        return this.#array(depth + 1);
      case '"':
        return this.#string();
      case "t":
        return this.#literal("true", true);
      case "f":
        return this.#literal("false", false);
      case "n":
        return this.#literal("null", null);
      default:
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.#number();
        return this.#fail(`expected a JSON value, found ${this.#describeNext()}`);
    }
  }

  #literal<T extends JsonValue>(word: string, value: T): T {
    if (this.#s.startsWith(word, this.#i)) {
      this.#i += word.length;
      return value;
    }
    return this.#fail(`expected a JSON value, found ${this.#describeNext()}`);
  }

  #number(): number {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(this.#s.slice(this.#i, this.#i + 400));
    if (!m) this.#fail(`invalid number starting with ${this.#describeNext()}`);
    const after = this.#s[this.#i + m[0].length];
    if (after !== undefined && /[0-9.eE+-]/.test(after)) this.#fail("invalid number");
    this.#i += m[0].length;
    const n = Number(m[0]);
    if (!Number.isFinite(n)) this.#fail(`the number ${m[0]} is out of range`);
    return n;
  }

  #string(): string {
    this.#i++; // opening quote
    let out = "";
    let start = this.#i;
    for (;;) {
      if (this.#i >= this.#s.length) this.#fail("unterminated string");
      const code = this.#s.charCodeAt(this.#i);
      if (code === 0x22) {
        out += this.#s.slice(start, this.#i);
        this.#i++;
        return out;
      }
      if (code < 0x20) this.#fail("a control character must be escaped in a string");
      if (code !== 0x5c) {
        this.#i++;
        continue;
      }
      out += this.#s.slice(start, this.#i);
      const e = this.#s[this.#i + 1];
      this.#i += 2;
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
          const hex = this.#s.slice(this.#i, this.#i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.#fail("invalid \\u escape in a string");
          out += String.fromCharCode(parseInt(hex, 16));
          this.#i += 4;
          break;
        }
        default:
          this.#i -= 1;
          this.#fail("invalid escape in a string");
      }
      start = this.#i;
    }
  }

  #array(depth: number): JsonValue[] {
    if (depth > this.#maxDepth) this.#fail(`nesting deeper than ${this.#maxDepth} levels`);
    this.#i++;
    const out: JsonValue[] = [];
    this.#ws();
    if (this.#s[this.#i] === "]") {
      this.#i++;
      return out;
    }
    for (;;) {
      this.#path.push(out.length);
      this.#ws();
      out.push(this.#value(depth));
      this.#path.pop();
      this.#ws();
      const c = this.#s[this.#i];
      if (c === ",") {
        this.#i++;
        continue;
      }
      if (c === "]") {
        this.#i++;
        return out;
      }
      this.#fail(`expected "," or "]" in an array, found ${this.#describeNext()}`);
    }
  }

  #object(depth: number): JsonObject {
    if (depth > this.#maxDepth) this.#fail(`nesting deeper than ${this.#maxDepth} levels`);
    this.#i++;
    const out: Record<string, JsonValue> = Object.create(null) as Record<string, JsonValue>;
    this.#ws();
    if (this.#s[this.#i] === "}") {
      this.#i++;
      return out;
    }
    for (;;) {
      this.#ws();
      if (this.#s[this.#i] !== '"') this.#fail(`expected a string key in an object, found ${this.#describeNext()}`);
      const key = this.#string();
      this.#path.push(key);
      if (Object.prototype.hasOwnProperty.call(out, key)) this.#fail(`duplicate key ${JSON.stringify(key)}`);
      this.#ws();
      if (this.#s[this.#i] !== ":") this.#fail(`expected ":" after an object key, found ${this.#describeNext()}`);
      this.#i++;
      this.#ws();
      out[key] = this.#value(depth);
      this.#path.pop();
      this.#ws();
      const c = this.#s[this.#i];
      if (c === ",") {
        this.#i++;
        continue;
      }
      if (c === "}") {
        this.#i++;
        return out;
      }
      this.#fail(`expected "," or "}" in an object, found ${this.#describeNext()}`);
    }
  }
}
