import {
  checkMediaType,
  checkSchemaVersion,
  goArray,
  goObject,
  goQuote,
  invalid,
  jsonBytes,
  ObjectReader,
  parseJSONDocument,
  parseOCIPlatform,
  rejectAmbiguousFields,
  rootObject,
  type JSONDocument,
  type JSONObjectNode,
  type OCIPlatform,
} from "@stevedore/manifest-oci";
import { DOCKER_LIST_MEDIA_TYPE } from "./media-types.js";
import { encodeSchema2Descriptor, parseSchema2Descriptor, type Schema2Descriptor } from "./schema2.js";

/** The platform of a manifest list entry: OCI's fields plus Docker's `features`. */
export interface Schema2Platform extends OCIPlatform {
  /** CPU features (Docker only; dropped when converting to OCI). */
  features?: string[];
}

/** An entry of a Docker manifest list. */
export interface Schema2ListEntry extends Schema2Descriptor {
  platform: Schema2Platform;
}

/** A Docker manifest list. */
export interface Schema2List {
  schemaVersion: 2;
  mediaType: typeof DOCKER_LIST_MEDIA_TYPE;
  manifests: Schema2ListEntry[];
}

const LIST_FIELDS = ["schemaVersion", "mediaType", "manifests"];

/**
 * Parses and validates a Docker manifest list: `schemaVersion` 2, `mediaType`
 * the list type, every entry a valid descriptor with a `platform` naming
 * at least `architecture` and `os`. Throws `InvalidManifestError`.
 */
export function parseSchema2List(bytes: Uint8Array): Schema2List {
  return schema2ListFromDocument(parseJSONDocument(bytes, { what: "Docker manifest list" }));
}

/** {@link parseSchema2List} of an already parsed document. */
export function schema2ListFromDocument(doc: JSONDocument): Schema2List {
  const what = "Docker manifest list";
  const fail = invalid(what);
  const root = rootObject(doc, what);
  rejectAmbiguousFields(root, what, ["manifests"]);
  const r = new ObjectReader(root, "", fail, LIST_FIELDS);
  checkSchemaVersion(r, 2);
  if (checkMediaType(r, DOCKER_LIST_MEDIA_TYPE) === undefined) throw r.error("mediaType", "missing");
  const manifests = r.array("manifests", true).items.map((node, i): Schema2ListEntry => {
    const where = `manifests[${i}]`;
    const d = parseSchema2Descriptor(node, where, fail, ["platform"]);
    const pr = new ObjectReader(node as JSONObjectNode, where, fail, ["platform"]);
    const pnode = pr.get("platform");
    if (pnode === undefined) throw pr.error("platform", "missing");
    const platform: Schema2Platform = parseOCIPlatform(pnode, `${where}.platform`, fail, ["features"]);
    const features = new ObjectReader(pnode as JSONObjectNode, `${where}.platform`, fail, ["features"]).stringArray("features");
    if (features !== undefined) platform.features = features;
    return { ...d, platform };
  });
  return { schemaVersion: 2, mediaType: DOCKER_LIST_MEDIA_TYPE, manifests };
}

/** Encodes a list platform as the Go library's `Schema2PlatformSpec`. */
export function encodeSchema2Platform(p: Schema2Platform): string {
  return goObject([
    ["architecture", goQuote(p.architecture)],
    ["os", goQuote(p.os)],
    ["os.version", p.osVersion ? goQuote(p.osVersion) : undefined],
    ["os.features", p.osFeatures !== undefined && p.osFeatures.length > 0 ? goArray(p.osFeatures, goQuote) : undefined],
    ["variant", p.variant ? goQuote(p.variant) : undefined],
    ["features", p.features !== undefined && p.features.length > 0 ? goArray(p.features, goQuote) : undefined],
  ]);
}

/** Serialises a manifest list as the Go library does; deterministic. */
export function serializeSchema2List(list: Schema2List): Uint8Array {
  return jsonBytes(encodeSchema2List(list));
}

/** The JSON text of {@link serializeSchema2List}. */
export function encodeSchema2List(list: Schema2List): string {
  return goObject([
    ["schemaVersion", "2"],
    ["mediaType", goQuote(DOCKER_LIST_MEDIA_TYPE)],
    [
      "manifests",
      goArray(list.manifests, (e) => {
        const d = encodeSchema2Descriptor(e);
        return `${d.slice(0, -1)},"platform":${encodeSchema2Platform(e.platform)}}`;
      }),
    ],
  ]);
}
