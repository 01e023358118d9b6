/**
 * A strict JSON reader for security-relevant documents (signature payloads,
 * policy.json): besides the JSON grammar it refuses duplicate object keys,
 * trailing data, a byte-order mark, invalid UTF-8 and nesting deeper than a
 * limit, and every error names the JSON path where it happened.
 *
 * @module
 */

import { parseJSONDocument, type JSONDocument, type JSONNode } from "@stevedore/manifest-oci";
import { SizeLimits } from "@stevedore/types";

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
  /** Largest document accepted, in bytes; default 4 MiB. */
  maxSize?: number;
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

/**
 * Parses one JSON value from `input` (UTF-8 bytes or a string) strictly:
 * RFC 8259 grammar only, no duplicate keys in an object, nothing but
 * whitespace after the value, no byte-order mark. Throws the error made by
 * `options.error`, with a message naming the JSON path; never anything else.
 *
 * The grammar is checked by the manifest parser of `@stevedore/manifest-oci`
 * (one strict JSON reader for the project); this adds the duplicate-key
 * rule and turns its tree into plain values.
 */
export function parseJsonStrictly(input: Uint8Array | string, options: StrictJsonOptions): JsonValue {
  let doc: JSONDocument;
  try {
    doc = parseJSONDocument(input, { what: "the document", maxSize: options.maxSize ?? SizeLimits.signature, maxDepth: options.maxDepth ?? 64 });
  } catch (e) {
    throw options.error(`invalid JSON: ${e instanceof Error ? e.message : String(e)}`, []);
  }
  return toValue(doc.root, [], options);
}

function toValue(node: JSONNode, path: (string | number)[], options: StrictJsonOptions): JsonValue {
  switch (node.kind) {
    case "null":
      return null;
    case "boolean":
    case "string":
      return node.value;
    case "number": {
      const n = Number(node.raw);
      if (!Number.isFinite(n)) throw options.error(`invalid JSON at ${formatJsonPath(path)}: the number ${node.raw} is out of range`, [...path]);
      return n;
    }
    case "array":
      return node.items.map((item, i) => toValue(item, [...path, i], options));
    case "object": {
      const out = Object.create(null) as Record<string, JsonValue>;
      for (const [key, value] of node.entries) {
        if (Object.hasOwn(out, key)) {
          throw options.error(`invalid JSON at ${formatJsonPath([...path, key])} (offset ${value.start}): duplicate key ${JSON.stringify(key)}`, [...path, key]);
        }
        out[key] = toValue(value, [...path, key], options);
      }
      return out;
    }
  }
}
