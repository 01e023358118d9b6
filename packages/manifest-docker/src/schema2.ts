import type { Digest } from "@stevedore/types";
import {
  checkMediaType,
  checkSchemaVersion,
  goArray,
  goObject,
  goQuote,
  invalid,
  jsonBytes,
  jsonKind,
  ObjectReader,
  parseJSONDocument,
  readDigest,
  rejectAmbiguousFields,
  rootObject,
  type FieldErrorFactory,
  type JSONDocument,
  type JSONNode,
} from "@stevedore/manifest-oci";
import { DOCKER_SCHEMA2_LAYER_MEDIA_TYPES, DOCKER_SCHEMA2_MEDIA_TYPE } from "./media-types.js";

/** A descriptor in Docker schema 2: media type, size, digest and (foreign layers) URLs. */
export interface Schema2Descriptor {
  mediaType: string;
  size: number;
  digest: Digest;
  urls?: string[];
}

/** A Docker schema 2 image manifest. */
export interface Schema2Manifest {
  schemaVersion: 2;
  mediaType: typeof DOCKER_SCHEMA2_MEDIA_TYPE;
  config: Schema2Descriptor;
  layers: Schema2Descriptor[];
}

const DESCRIPTOR_FIELDS = ["mediaType", "size", "digest", "urls"];
const MANIFEST_FIELDS = ["schemaVersion", "mediaType", "config", "layers"];

/** Parses a schema 2 descriptor (fields other than the four known ones are ignored, as by Docker). */
export function parseSchema2Descriptor(node: JSONNode, where: string, fail: FieldErrorFactory, extraFields: readonly string[] = []): Schema2Descriptor {
  if (node.kind !== "object") throw fail(`${where}: must be an object, got ${jsonKind(node)}`);
  const r = new ObjectReader(node, where, fail, [...DESCRIPTOR_FIELDS, ...extraFields]);
  const d: Schema2Descriptor = {
    mediaType: r.string("mediaType", true),
    size: r.size("size", true),
    digest: readDigest(r, "digest"),
  };
  const urls = r.stringArray("urls");
  if (urls !== undefined) d.urls = urls;
  return d;
}

/** Encodes a descriptor as the Go library's `Schema2Descriptor`. */
export function encodeSchema2Descriptor(d: Schema2Descriptor): string {
  return goObject([
    ["mediaType", goQuote(d.mediaType)],
    ["size", String(d.size)],
    ["digest", goQuote(d.digest)],
    ["urls", d.urls !== undefined && d.urls.length > 0 ? goArray(d.urls, goQuote) : undefined],
  ]);
}

/**
 * Parses and validates a Docker schema 2 manifest: `schemaVersion` 2,
 * `mediaType` the schema 2 type, a valid `config`, `layers` with Docker layer
 * media types only, and no fields of other formats. Throws
 * `InvalidManifestError` (or `SizeLimitExceededError` over 4 MiB).
 */
export function parseSchema2Manifest(bytes: Uint8Array): Schema2Manifest {
  return schema2ManifestFromDocument(parseJSONDocument(bytes, { what: "Docker schema 2 manifest" }));
}

/** {@link parseSchema2Manifest} of an already parsed document. */
export function schema2ManifestFromDocument(doc: JSONDocument): Schema2Manifest {
  const what = "Docker schema 2 manifest";
  const fail = invalid(what);
  const root = rootObject(doc, what);
  rejectAmbiguousFields(root, what, ["config", "layers"]);
  const r = new ObjectReader(root, "", fail, MANIFEST_FIELDS);
  checkSchemaVersion(r, 2);
  if (checkMediaType(r, DOCKER_SCHEMA2_MEDIA_TYPE) === undefined) throw r.error("mediaType", "missing");
  const layers = r.array("layers", true).items.map((l, i) => {
    const d = parseSchema2Descriptor(l, `layers[${i}]`, fail);
    if (!DOCKER_SCHEMA2_LAYER_MEDIA_TYPES.includes(d.mediaType)) {
      throw fail(`layers[${i}].mediaType: "${d.mediaType}" is not a Docker schema 2 layer type`);
    }
    return d;
  });
  return {
    schemaVersion: 2,
    mediaType: DOCKER_SCHEMA2_MEDIA_TYPE,
    config: parseSchema2Descriptor(r.object("config", true), "config", fail),
    layers,
  };
}

/** Serialises a schema 2 manifest as the Go library does; deterministic. */
export function serializeSchema2Manifest(m: Schema2Manifest): Uint8Array {
  return jsonBytes(encodeSchema2Manifest(m));
}

/** The JSON text of {@link serializeSchema2Manifest}. */
export function encodeSchema2Manifest(m: Schema2Manifest): string {
  return goObject([
    ["schemaVersion", "2"],
    ["mediaType", goQuote(DOCKER_SCHEMA2_MEDIA_TYPE)],
    ["config", encodeSchema2Descriptor(m.config)],
    ["layers", goArray(m.layers, encodeSchema2Descriptor)],
  ]);
}
