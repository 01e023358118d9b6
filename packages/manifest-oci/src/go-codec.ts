/**
 * Reads and writes JSON exactly as Go's `encoding/json` does for a given Go
 * struct definition. Image configurations are converted between formats by
 * the Go library through such structs (fields it does not know are dropped,
 * field names match case-insensitively, `null` leaves a value at its zero,
 * type mismatches are errors); re-implementing that on a declared schema
 * makes the converted bytes — and so the digests — the same as the Go
 * library's.
 */
import {
  goArray,
  goCompactNode,
  goMap,
  goObject,
  goQuote,
  GO_ZERO_TIME,
  jsonKind,
  normalizeGoTime,
  type JSONDocument,
  type JSONNode,
} from "./json.js";

/** A Go type, as far as JSON is concerned. */
export type GoType =
  | { readonly kind: "string" }
  | { readonly kind: "bool" }
  /** int / int64 (also time.Duration) */
  | { readonly kind: "int" }
  /** time.Time (a struct: never "empty") */
  | { readonly kind: "time" }
  /** struct{} */
  | { readonly kind: "empty" }
  /** docker's strslice.StrSlice: a string or an array of strings */
  | { readonly kind: "strslice" }
  /** any / json.RawMessage: kept as written */
  | { readonly kind: "raw" }
  | { readonly kind: "ptr"; readonly elem: GoType }
  | { readonly kind: "slice"; readonly elem: GoType }
  | { readonly kind: "map"; readonly elem: GoType }
  | { readonly kind: "struct"; readonly fields: readonly GoField[] };

/** A struct field: its JSON name, type and whether it is `omitempty`. */
export interface GoField {
  readonly name: string;
  readonly type: GoType;
  readonly omitempty?: boolean;
}

/** A decoded raw value: the document and node it came from. */
export interface GoRaw {
  readonly doc: JSONDocument;
  readonly node: JSONNode;
}

/**
 * A decoded Go value: string, boolean, integer text (int), normalised
 * timestamp (time), `true` (struct{}), `null` (nil pointer/slice/map), array,
 * `Map` (map, kept in insertion order), `GoRaw`, or a record (struct).
 */
export type GoValue = string | boolean | null | GoValue[] | Map<string, GoValue> | GoRaw | { [field: string]: GoValue };

/** Shorthands for declaring Go types. */
export const go = {
  string: { kind: "string" } as GoType,
  bool: { kind: "bool" } as GoType,
  int: { kind: "int" } as GoType,
  time: { kind: "time" } as GoType,
  empty: { kind: "empty" } as GoType,
  strslice: { kind: "strslice" } as GoType,
  raw: { kind: "raw" } as GoType,
  ptr: (elem: GoType): GoType => ({ kind: "ptr", elem }),
  slice: (elem: GoType): GoType => ({ kind: "slice", elem }),
  map: (elem: GoType): GoType => ({ kind: "map", elem }),
  struct: (...fields: GoField[]): GoType => ({ kind: "struct", fields }),
  field: (name: string, type: GoType, omitempty = false): GoField => ({ name, type, omitempty }),
};

/** The zero value of a type. */
export function goZero(t: GoType): GoValue {
  switch (t.kind) {
    case "string":
      return "";
    case "bool":
      return false;
    case "int":
      return "0";
    case "time":
      return GO_ZERO_TIME;
    case "empty":
      return true;
    case "struct": {
      const o: { [k: string]: GoValue } = {};
      for (const f of t.fields) o[f.name] = goZero(f.type);
      return o;
    }
    default:
      return null;
  }
}

/** A failure to decode: names the JSON path, like Go's UnmarshalTypeError. */
export class GoDecodeError extends Error {
  constructor(readonly path: string, message: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = "GoDecodeError";
  }
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function findField(fields: readonly GoField[], key: string): GoField | undefined {
  let folded: GoField | undefined;
  const lower = key.toLowerCase();
  for (const f of fields) {
    if (f.name === key) return f;
    if (folded === undefined && f.name.toLowerCase() === lower) folded = f;
  }
  return folded;
}

/**
 * Decodes `node` into a value of type `t` starting from `into` (the current
 * value, for Go's decode-into-existing semantics), throwing
 * {@link GoDecodeError} where Go's `json.Unmarshal` would fail.
 */
export function goDecode(doc: JSONDocument, node: JSONNode, t: GoType, into: GoValue = goZero(t), path = ""): GoValue {
  const mismatch = (): never => {
    throw new GoDecodeError(path, `cannot decode ${jsonKind(node)} as a Go ${t.kind}`);
  };
  if (node.kind === "null") {
    // null sets pointers, slices, maps and interfaces to nil and leaves the rest alone.
    return t.kind === "ptr" || t.kind === "slice" || t.kind === "map" || t.kind === "raw" || t.kind === "strslice" ? null : into;
  }
  switch (t.kind) {
    case "string":
      return node.kind === "string" ? node.value : mismatch();
    case "bool":
      return node.kind === "boolean" ? node.value : mismatch();
    case "int": {
      if (node.kind !== "number") return mismatch();
      if (!/^-?(0|[1-9][0-9]*)$/.test(node.raw)) throw new GoDecodeError(path, `cannot decode number ${node.raw} as an integer`);
      const n = BigInt(node.raw);
      if (n < INT64_MIN || n > INT64_MAX) throw new GoDecodeError(path, `number ${node.raw} overflows int64`);
      return n.toString();
    }
    case "time": {
      if (node.kind !== "string") return mismatch();
      const s = normalizeGoTime(node.value);
      if (s === undefined) throw new GoDecodeError(path, `invalid RFC 3339 time ${JSON.stringify(node.value)}`);
      return s;
    }
    case "empty":
      return node.kind === "object" ? true : mismatch();
    case "raw":
      return { doc, node };
    case "strslice":
      if (node.kind === "string") return [node.value];
      if (node.kind !== "array") return mismatch();
      return node.items.map((item, i) => goDecode(doc, item, go.string, "", `${path}[${i}]`));
    case "ptr": {
      const current = into === null ? goZero(t.elem) : into;
      return goDecode(doc, node, t.elem, current, path);
    }
    case "slice":
      if (node.kind !== "array") return mismatch();
      return node.items.map((item, i) => goDecode(doc, item, t.elem, goZero(t.elem), `${path}[${i}]`));
    case "map": {
      if (node.kind !== "object") return mismatch();
      const m = into instanceof Map ? new Map(into) : new Map<string, GoValue>();
      for (const [k, v] of node.entries) {
        m.set(k, goDecode(doc, v, t.elem, goZero(t.elem), `${path}[${JSON.stringify(k)}]`));
      }
      return m;
    }
    case "struct": {
      if (node.kind !== "object") return mismatch();
      const o: { [k: string]: GoValue } = { ...(into as { [k: string]: GoValue }) };
      for (const [k, v] of node.entries) {
        const f = findField(t.fields, k);
        if (f === undefined) continue;
        o[f.name] = goDecode(doc, v, f.type, o[f.name] ?? goZero(f.type), path ? `${path}.${k}` : k);
      }
      return o;
    }
  }
}

/** Whether Go's `omitempty` leaves out a value of type `t`. */
function goIsEmpty(t: GoType, v: GoValue): boolean {
  switch (t.kind) {
    case "string":
      return v === "";
    case "bool":
      return v === false;
    case "int":
      return v === "0";
    case "ptr":
    case "raw":
      return v === null;
    case "slice":
    case "strslice":
      return v === null || (Array.isArray(v) && v.length === 0);
    case "map":
      return v === null || (v instanceof Map && v.size === 0);
    default:
      return false; // structs (including time.Time and struct{}) are never empty
  }
}

/** Encodes a value of type `t` as Go's `json.Marshal`. */
export function goEncode(t: GoType, v: GoValue): string {
  switch (t.kind) {
    case "string":
      return goQuote(v as string);
    case "bool":
      return v ? "true" : "false";
    case "int":
      return v as string;
    case "time":
      return goQuote(v as string);
    case "empty":
      return "{}";
    case "raw": {
      if (v === null) return "null";
      const r = v as GoRaw;
      return goCompactNode(r.doc, r.node);
    }
    case "ptr":
      return v === null ? "null" : goEncode(t.elem, v);
    case "slice":
      return v === null ? "null" : goArray(v as GoValue[], (x) => goEncode(t.elem, x));
    case "strslice":
      return v === null ? "null" : goArray(v as GoValue[], (x) => goQuote(x as string));
    case "map":
      return v === null ? "null" : goMap(v as Map<string, GoValue>, (x) => goEncode(t.elem, x));
    case "struct": {
      const o = v as { [k: string]: GoValue };
      return goObject(
        t.fields.map((f) => {
          const fv = o[f.name] ?? goZero(f.type);
          return [f.name, f.omitempty && goIsEmpty(f.type, fv) ? undefined : goEncode(f.type, fv)] as const;
        }),
      );
    }
  }
}
