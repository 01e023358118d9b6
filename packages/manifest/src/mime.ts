import { DOCKER_LIST_MEDIA_TYPE, DOCKER_CONFIG_MEDIA_TYPE, DOCKER_SCHEMA2_MEDIA_TYPE } from "@stevedore/manifest-docker";
import { DOCKER_SCHEMA1_MEDIA_TYPE, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE } from "@stevedore/manifest-docker-schema1";
import {
  OCI_CONFIG_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  parseJSONDocument,
  MAX_MANIFEST_SIZE,
  type JSONNode,
  type JSONObjectNode,
} from "@stevedore/manifest-oci";
import { SizeLimitExceededError, StevedoreError } from "@stevedore/types";

export {
  OCI_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_CONFIG_MEDIA_TYPE,
  OCI_EMPTY_MEDIA_TYPE,
  OCI_LAYER_MEDIA_TYPE,
  OCI_LAYER_GZIP_MEDIA_TYPE,
  OCI_LAYER_ZSTD_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE,
  MAX_MANIFEST_SIZE,
} from "@stevedore/manifest-oci";
export {
  DOCKER_SCHEMA2_MEDIA_TYPE,
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_CONFIG_MEDIA_TYPE,
  DOCKER_LAYER_MEDIA_TYPE,
  DOCKER_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
} from "@stevedore/manifest-docker";
export { DOCKER_SCHEMA1_MEDIA_TYPE, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE } from "@stevedore/manifest-docker-schema1";

/** The manifest MIME types Stevedore reads and writes. */
export const MANIFEST_MIME_TYPES: readonly string[] = Object.freeze([
  OCI_MANIFEST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA1_MEDIA_TYPE,
]);

/**
 * The `Accept` list for fetching a manifest, in the Go library's order: OCI
 * manifest, Docker schema 2, schema 1 signed and unsigned, Docker list, OCI
 * index.
 */
export const defaultAcceptMIMETypes: readonly string[] = Object.freeze([
  OCI_MANIFEST_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA1_MEDIA_TYPE,
  DOCKER_LIST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
]);

/** Whether `mimeType` is a list type (Docker manifest list or OCI index). */
export function isListMIMEType(mimeType: string): boolean {
  return mimeType === DOCKER_LIST_MEDIA_TYPE || mimeType === OCI_INDEX_MEDIA_TYPE;
}

/** Whether `mimeType` is a single-image manifest type Stevedore knows. */
export function isImageMIMEType(mimeType: string): boolean {
  return MANIFEST_MIME_TYPES.includes(mimeType) && !isListMIMEType(mimeType);
}

/** Whether `mimeType` is one of the two schema 1 types. */
export function isSchema1MIMEType(mimeType: string): boolean {
  return mimeType === DOCKER_SCHEMA1_MEDIA_TYPE || mimeType === DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE;
}

/**
 * The effective MIME type of a manifest whose type a server reported, as the
 * Go library's `NormalizedMIMEType`: known types are kept;
 * `application/json`, `text/plain` (CDNs), "" and anything unknown become
 * schema 1 signed, the format that predates content types. Parameters
 * (`; charset=…`) are ignored.
 */
export function normalizeMIMEType(mimeType: string): string {
  const base = mimeType.split(";")[0]?.trim() ?? "";
  return MANIFEST_MIME_TYPES.includes(base) ? base : DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE;
}

function member(o: JSONObjectNode, key: string): JSONNode | undefined {
  let found: JSONNode | undefined;
  for (const [k, v] of o.entries) if (k === key) found = v;
  return found;
}

/**
 * Guesses a manifest's MIME type from its content, as the Go library's
 * `GuessMIMEType`: a known `mediaType` field wins; otherwise `schemaVersion`
 * 1 means schema 1 (signed when a `signatures` member is present and not
 * null); `schemaVersion` 2 with an OCI or Docker config means that manifest
 * type, a `manifests` member without `config` an OCI index, anything else
 * with `schemaVersion` 2 an OCI manifest (an artifact). Returns "" for
 * documents that are not JSON or not recognisable (Stevedore also returns ""
 * for a document with both `manifests` and `config`, where the Go library
 * returns the config type). Throws `SizeLimitExceededError` for documents
 * over 4 MiB, which are never read.
 */
export function guessMIMEType(bytes: Uint8Array): string {
  if (bytes.byteLength > MAX_MANIFEST_SIZE) {
    throw new SizeLimitExceededError(`manifest is ${bytes.byteLength} bytes, larger than the limit of ${MAX_MANIFEST_SIZE} bytes`);
  }
  let root: JSONNode;
  try {
    root = parseJSONDocument(bytes, { what: "manifest" }).root;
  } catch (e) {
    if (e instanceof StevedoreError) return "";
    throw e;
  }
  if (root.kind !== "object") return "";
  const mt = member(root, "mediaType");
  if (mt !== undefined && mt.kind !== "string" && mt.kind !== "null") return "";
  if (mt?.kind === "string" && [DOCKER_SCHEMA2_MEDIA_TYPE, DOCKER_LIST_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE].includes(mt.value)) {
    return mt.value;
  }
  const sv = member(root, "schemaVersion");
  if (sv === undefined || sv.kind !== "number") return "";
  if (sv.raw === "1") {
    const sigs = member(root, "signatures");
    return sigs !== undefined && sigs.kind !== "null" ? DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE : DOCKER_SCHEMA1_MEDIA_TYPE;
  }
  if (sv.raw !== "2") return "";
  const config = member(root, "config");
  let configType = "";
  if (config?.kind === "object") {
    const ct = member(config, "mediaType");
    if (ct?.kind === "string") configType = ct.value;
  }
  if (configType === OCI_CONFIG_MEDIA_TYPE) return OCI_MANIFEST_MEDIA_TYPE;
  if (configType === DOCKER_CONFIG_MEDIA_TYPE) return DOCKER_SCHEMA2_MEDIA_TYPE;
  const manifests = member(root, "manifests");
  if (manifests !== undefined && manifests.kind === "array") {
    return config === undefined || config.kind === "null" ? OCI_INDEX_MEDIA_TYPE : "";
  }
  return OCI_MANIFEST_MEDIA_TYPE;
}
