import { InvalidManifestError } from "@stevedore/types";
import { encodeOCIDescriptor, parseOCIDescriptor, type OCIDescriptor } from "./descriptor.js";
import {
  goArray,
  goObject,
  goQuote,
  goStringMap,
  jsonBytes,
  jsonKind,
  ObjectReader,
  parseJSONDocument,
  readNonNegativeInteger,
  rejectAmbiguousFields,
  type JSONDocument,
  type JSONObjectNode,
} from "./json.js";
import { OCI_CONFIG_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from "./media-types.js";

/** An OCI image manifest (image-spec 1.1), also used for artifacts. */
export interface OCIManifest {
  schemaVersion: 2;
  /** The `mediaType` field as written (absent in manifests of image-spec < 1.0.2). */
  mediaType?: string;
  artifactType?: string;
  config: OCIDescriptor;
  layers: OCIDescriptor[];
  subject?: OCIDescriptor;
  annotations?: Record<string, string>;
}

const MANIFEST_FIELDS = ["schemaVersion", "mediaType", "artifactType", "config", "layers", "subject", "annotations"];

/** An error factory naming the document. */
export function invalid(what: string): (message: string, cause?: unknown) => InvalidManifestError {
  return (message, cause) => new InvalidManifestError(`invalid ${what}: ${message}`, cause === undefined ? undefined : { cause });
}

/** Checks `schemaVersion` is the integer `expected`. */
export function checkSchemaVersion(r: ObjectReader, expected: number): void {
  const v = r.get("schemaVersion");
  if (v === undefined) throw r.error("schemaVersion", "missing");
  const n = readNonNegativeInteger(v, (m) => r.error("schemaVersion", m));
  if (n !== expected) throw r.error("schemaVersion", `must be ${expected}, got ${n}`);
}

/** Checks that the `mediaType` member, when present, is `expected`. */
export function checkMediaType(r: ObjectReader, expected: string): string | undefined {
  const mt = r.string("mediaType");
  if (mt !== undefined && mt !== expected) {
    throw r.error("mediaType", `is "${mt}", expected "${expected}"`);
  }
  return mt;
}

/** The root object of a document, or an error naming `what`. */
export function rootObject(doc: JSONDocument, what: string): JSONObjectNode {
  if (doc.root.kind !== "object") throw new InvalidManifestError(`invalid ${what}: must be a JSON object, got ${jsonKind(doc.root)}`);
  return doc.root;
}

/**
 * Parses and validates an OCI image manifest: `schemaVersion` 2, `mediaType`
 * (when present) the OCI manifest type, `config` and `layers` required and
 * every descriptor valid, no fields of other formats ("ambiguous manifest").
 * Throws `InvalidManifestError` (or `SizeLimitExceededError` over 4 MiB).
 */
export function parseOCIManifest(bytes: Uint8Array): OCIManifest {
  const what = "OCI image manifest";
  const doc = parseJSONDocument(bytes, { what });
  return ociManifestFromDocument(doc);
}

/** {@link parseOCIManifest} of an already parsed document. */
export function ociManifestFromDocument(doc: JSONDocument): OCIManifest {
  const what = "OCI image manifest";
  const fail = invalid(what);
  const root = rootObject(doc, what);
  rejectAmbiguousFields(root, what, ["config", "layers"]);
  const r = new ObjectReader(root, "", fail, MANIFEST_FIELDS);
  checkSchemaVersion(r, 2);
  const m: OCIManifest = {
    schemaVersion: 2,
    config: parseOCIDescriptor(r.object("config", true), "config", fail),
    layers: r.array("layers", true).items.map((l, i) => parseOCIDescriptor(l, `layers[${i}]`, fail)),
  };
  const mediaType = checkMediaType(r, OCI_MANIFEST_MEDIA_TYPE);
  if (mediaType !== undefined) m.mediaType = mediaType;
  const artifactType = r.string("artifactType");
  if (artifactType !== undefined) m.artifactType = artifactType;
  const subject = r.get("subject");
  if (subject !== undefined) m.subject = parseOCIDescriptor(subject, "subject", fail);
  const annotations = r.stringMap("annotations");
  if (annotations !== undefined) m.annotations = annotations;
  return m;
}

/**
 * Serialises an OCI manifest as the Go library does (`json.Marshal` of
 * image-spec's `Manifest`): fields in the spec's order, empty optional fields
 * left out, map keys sorted. Deterministic: the same manifest always gives
 * the same bytes.
 */
export function serializeOCIManifest(m: OCIManifest): Uint8Array {
  return jsonBytes(encodeOCIManifest(m));
}

/** The JSON text of {@link serializeOCIManifest}. */
export function encodeOCIManifest(m: OCIManifest): string {
  return goObject([
    ["schemaVersion", "2"],
    ["mediaType", m.mediaType ? goQuote(m.mediaType) : undefined],
    ["artifactType", m.artifactType ? goQuote(m.artifactType) : undefined],
    ["config", encodeOCIDescriptor(m.config)],
    ["layers", goArray(m.layers, encodeOCIDescriptor)],
    ["subject", m.subject !== undefined ? encodeOCIDescriptor(m.subject) : undefined],
    ["annotations", m.annotations !== undefined && Object.keys(m.annotations).length > 0 ? goStringMap(m.annotations) : undefined],
  ]);
}

/**
 * Whether an OCI manifest describes a container image (its config is an OCI
 * image configuration) rather than another kind of artifact.
 */
export function isOCIImage(m: Pick<OCIManifest, "config">): boolean {
  return m.config.mediaType === OCI_CONFIG_MEDIA_TYPE;
}

/**
 * The artifact type of an OCI manifest: `artifactType` when set, else the
 * config's media type (image-spec 1.1's rule).
 */
export function ociArtifactType(m: Pick<OCIManifest, "config" | "artifactType">): string {
  return m.artifactType ?? m.config.mediaType;
}
