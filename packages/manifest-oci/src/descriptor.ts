import { digestOf, parseDigest, type Digest } from "@stevedore/types";
import {
  goArray,
  goObject,
  goQuote,
  goStringMap,
  jsonKind,
  ObjectReader,
  type JSONNode,
} from "./json.js";

/** A platform as OCI descriptors and configs carry it. */
export interface OCIPlatform {
  architecture: string;
  os: string;
  /** `os.version` */
  osVersion?: string;
  /** `os.features` */
  osFeatures?: string[];
  variant?: string;
}

/** An OCI content descriptor (image-spec 1.1). */
export interface OCIDescriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  /** Embedded content (`data`, base64 in JSON). */
  data?: Uint8Array;
  platform?: OCIPlatform;
  artifactType?: string;
}

/** Builds the error thrown for an invalid member; `where` is already in the message. */
export type FieldErrorFactory = (message: string, cause?: unknown) => Error;

const DESCRIPTOR_FIELDS = ["mediaType", "digest", "size", "urls", "annotations", "data", "platform", "artifactType"];
const PLATFORM_FIELDS = ["architecture", "os", "os.version", "os.features", "variant"];

/** Reads a digest member, wrapping the digest error in the caller's error type. */
export function readDigest(r: ObjectReader, key: string): Digest {
  const s = r.string(key, true);
  try {
    return parseDigest(s);
  } catch (e) {
    throw r.error(key, (e as Error).message, e);
  }
}

/**
 * Parses an OCI descriptor: `mediaType` (a non-empty string), `digest`
 * (valid and supported), `size` (a non-negative integer), `urls`,
 * `annotations`, `data` (standard base64 whose decoded bytes must match
 * `size` and `digest`), `platform`, `artifactType`.
 */
export function parseOCIDescriptor(node: JSONNode, where: string, fail: FieldErrorFactory): OCIDescriptor {
  if (node.kind !== "object") throw fail(`${where}: must be an object, got ${jsonKind(node)}`);
  const r = new ObjectReader(node, where, fail, DESCRIPTOR_FIELDS);
  const mediaType = r.string("mediaType", true);
  if (mediaType === "") throw r.error("mediaType", "must not be empty");
  const d: OCIDescriptor = { mediaType, digest: readDigest(r, "digest"), size: r.size("size", true) };
  const urls = r.stringArray("urls");
  if (urls !== undefined) d.urls = urls;
  const annotations = r.stringMap("annotations");
  if (annotations !== undefined) d.annotations = annotations;
  const data = r.string("data");
  if (data !== undefined) {
    const bytes = decodeStdBase64(data);
    if (bytes === undefined) throw r.error("data", "is not valid base64");
    if (bytes.byteLength !== d.size) throw r.error("data", `holds ${bytes.byteLength} bytes but size is ${d.size}`);
    const actual = digestOf(bytes, d.digest.slice(0, d.digest.indexOf(":")) as "sha256");
    if (actual !== d.digest) throw r.error("data", `does not match digest ${d.digest} (it is ${actual})`);
    d.data = bytes;
  }
  const p = r.get("platform");
  if (p !== undefined) d.platform = parseOCIPlatform(p, r.path("platform"), fail);
  const artifactType = r.string("artifactType");
  if (artifactType !== undefined) d.artifactType = artifactType;
  return d;
}

/** Parses an OCI platform object: `architecture` and `os` are required strings. */
export function parseOCIPlatform(node: JSONNode, where: string, fail: FieldErrorFactory, extraFields: readonly string[] = []): OCIPlatform {
  if (node.kind !== "object") throw fail(`${where}: must be an object, got ${jsonKind(node)}`);
  const r = new ObjectReader(node, where, fail, [...PLATFORM_FIELDS, ...extraFields]);
  const p: OCIPlatform = { architecture: r.string("architecture", true), os: r.string("os", true) };
  const osVersion = r.string("os.version");
  if (osVersion !== undefined) p.osVersion = osVersion;
  const osFeatures = r.stringArray("os.features");
  if (osFeatures !== undefined) p.osFeatures = osFeatures;
  const variant = r.string("variant");
  if (variant !== undefined) p.variant = variant;
  return p;
}

function nonEmpty<T>(v: readonly T[] | undefined): boolean {
  return v !== undefined && v.length > 0;
}

function nonEmptyMap(v: Readonly<Record<string, string>> | undefined): v is Readonly<Record<string, string>> {
  return v !== undefined && Object.keys(v).length > 0;
}

/** Encodes a platform as Go's image-spec `Platform` struct (empty optional fields left out). */
export function encodeOCIPlatform(p: OCIPlatform): string {
  return goObject([
    ["architecture", goQuote(p.architecture)],
    ["os", goQuote(p.os)],
    ["os.version", p.osVersion ? goQuote(p.osVersion) : undefined],
    ["os.features", nonEmpty(p.osFeatures) ? goArray(p.osFeatures as string[], goQuote) : undefined],
    ["variant", p.variant ? goQuote(p.variant) : undefined],
  ]);
}

/** Encodes a descriptor as Go's image-spec `Descriptor` struct. */
export function encodeOCIDescriptor(d: OCIDescriptor): string {
  return goObject([
    ["mediaType", goQuote(d.mediaType)],
    ["digest", goQuote(d.digest)],
    ["size", String(d.size)],
    ["urls", nonEmpty(d.urls) ? goArray(d.urls as string[], goQuote) : undefined],
    ["annotations", nonEmptyMap(d.annotations) ? goStringMap(d.annotations) : undefined],
    ["data", d.data !== undefined && d.data.byteLength > 0 ? goQuote(encodeStdBase64(d.data)) : undefined],
    ["platform", d.platform !== undefined ? encodeOCIPlatform(d.platform) : undefined],
    ["artifactType", d.artifactType ? goQuote(d.artifactType) : undefined],
  ]);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

/** Standard base64 with padding. */
export function encodeStdBase64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i] as number;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    out += B64[a >> 2];
    out += B64[((a & 3) << 4) | ((b ?? 0) >> 4)];
    out += b === undefined ? "=" : B64[((b & 15) << 2) | ((c ?? 0) >> 6)];
    out += c === undefined ? "=" : B64[c & 63];
  }
  return out;
}

/** Decodes standard, padded base64 strictly (as Go's `base64.StdEncoding`); undefined when invalid. */
export function decodeStdBase64(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const q = [0, 0, 0, 0];
    for (let j = 0; j < 4; j++) {
      const ch = s[i + j] as string;
      if (ch === "=") {
        if (i + 4 !== s.length || j < 4 - pad) return undefined;
        continue;
      }
      const v = B64_INDEX.get(ch);
      if (v === undefined) return undefined;
      q[j] = v;
    }
    const n = ((q[0] as number) << 18) | ((q[1] as number) << 12) | ((q[2] as number) << 6) | (q[3] as number);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  // Go refuses non-zero bits in the padding position.
  if (pad > 0) {
    const last = B64_INDEX.get(s[s.length - pad - 1] as string) as number;
    if ((pad === 2 && (last & 15) !== 0) || (pad === 1 && (last & 3) !== 0)) return undefined;
  }
  return out;
}
