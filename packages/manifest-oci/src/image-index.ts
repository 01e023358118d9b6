import { encodeOCIDescriptor, parseOCIDescriptor, type OCIDescriptor } from "./descriptor.js";
import {
  goArray,
  goObject,
  goQuote,
  goStringMap,
  jsonBytes,
  ObjectReader,
  parseJSONDocument,
  rejectAmbiguousFields,
  type JSONDocument,
} from "./json.js";
import { checkMediaType, checkSchemaVersion, invalid, rootObject } from "./manifest.js";
import { OCI_INDEX_MEDIA_TYPE } from "./media-types.js";

/** An OCI image index (image-spec 1.1). */
export interface OCIIndex {
  schemaVersion: 2;
  /** The `mediaType` field as written (optional in the spec). */
  mediaType?: string;
  artifactType?: string;
  manifests: OCIDescriptor[];
  subject?: OCIDescriptor;
  annotations?: Record<string, string>;
}

const INDEX_FIELDS = ["schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations"];

/**
 * Parses and validates an OCI image index: `schemaVersion` 2, `mediaType`
 * (when present) the OCI index type, `manifests` required with valid
 * descriptors, no fields of other formats. Throws `InvalidManifestError`.
 */
export function parseOCIIndex(bytes: Uint8Array): OCIIndex {
  return ociIndexFromDocument(parseJSONDocument(bytes, { what: "OCI image index" }));
}

/** {@link parseOCIIndex} of an already parsed document. */
export function ociIndexFromDocument(doc: JSONDocument): OCIIndex {
  const what = "OCI image index";
  const fail = invalid(what);
  const root = rootObject(doc, what);
  rejectAmbiguousFields(root, what, ["manifests"]);
  const r = new ObjectReader(root, "", fail, INDEX_FIELDS);
  checkSchemaVersion(r, 2);
  const index: OCIIndex = {
    schemaVersion: 2,
    manifests: r.array("manifests", true).items.map((d, i) => parseOCIDescriptor(d, `manifests[${i}]`, fail)),
  };
  const mediaType = checkMediaType(r, OCI_INDEX_MEDIA_TYPE);
  if (mediaType !== undefined) index.mediaType = mediaType;
  const artifactType = r.string("artifactType");
  if (artifactType !== undefined) index.artifactType = artifactType;
  const subject = r.get("subject");
  if (subject !== undefined) index.subject = parseOCIDescriptor(subject, "subject", fail);
  const annotations = r.stringMap("annotations");
  if (annotations !== undefined) index.annotations = annotations;
  return index;
}

/** Serialises an OCI index as the Go library does (`json.Marshal` of image-spec's `Index`). */
export function serializeOCIIndex(index: OCIIndex): Uint8Array {
  return jsonBytes(encodeOCIIndex(index));
}

/** The JSON text of {@link serializeOCIIndex}. */
export function encodeOCIIndex(index: OCIIndex): string {
  return goObject([
    ["schemaVersion", "2"],
    ["mediaType", index.mediaType ? goQuote(index.mediaType) : undefined],
    ["artifactType", index.artifactType ? goQuote(index.artifactType) : undefined],
    ["manifests", goArray(index.manifests, encodeOCIDescriptor)],
    ["subject", index.subject !== undefined ? encodeOCIDescriptor(index.subject) : undefined],
    ["annotations", index.annotations !== undefined && Object.keys(index.annotations).length > 0 ? goStringMap(index.annotations) : undefined],
  ]);
}
