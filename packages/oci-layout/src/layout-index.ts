import {
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from "@stevedore/manifest";
import {
  AmbiguousImageError,
  ImageNotFoundError,
  InvalidArchiveError,
  InvalidDigestError,
  StevedoreError,
  UnsupportedManifestTypeError,
  fromUtf8,
  parseDigest,
  utf8,
  type Digest,
} from "@stevedore/types";

/** The annotation naming an image in an OCI layout's index.json. */
export const REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name";
/** The name of the layout marker file. */
export const IMAGE_LAYOUT_FILE = "oci-layout";
/** The name of the layout's index. */
export const INDEX_FILE = "index.json";
/** The name of the blob directory. */
export const BLOBS_DIR = "blobs";
/** The layout version Stevedore writes. */
export const IMAGE_LAYOUT_VERSION = "1.0.0";
/** The bytes of the `oci-layout` file Stevedore writes (as containers/image 5.x writes it). */
export const IMAGE_LAYOUT_CONTENT: string = `{"imageLayoutVersion": "${IMAGE_LAYOUT_VERSION}"}`;

/** A descriptor of index.json's `manifests`, validated, with its JSON kept as read. */
export interface LayoutDescriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
  /** Every field of the descriptor as read (unknown fields are kept when index.json is rewritten). */
  readonly json: Readonly<Record<string, unknown>>;
}

/** A parsed index.json. */
export interface LayoutIndex {
  /** The top-level JSON object, without `manifests` (kept when index.json is rewritten). */
  readonly json: Readonly<Record<string, unknown>>;
  readonly manifests: readonly LayoutDescriptor[];
}

/** Which image of a layout a reference means: by name, by position, or "the only one". */
export interface ImageSelector {
  /** `org.opencontainers.image.ref.name`; "" or undefined for none. */
  name?: string;
  /** A zero-based position in index.json. */
  sourceIndex?: number;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Validates one descriptor object; `what` names it in errors (e.g.
 * `index.json of /x: manifests[2]`). The digest is checked with
 * `parseDigest` before anything can build a path from it.
 */
export function parseLayoutDescriptor(v: unknown, what: string): LayoutDescriptor {
  if (!isPlainObject(v)) throw new InvalidArchiveError(`${what}: a descriptor must be a JSON object`);
  const mediaType = v["mediaType"] ?? "";
  if (typeof mediaType !== "string") throw new InvalidArchiveError(`${what}: "mediaType" must be a string`);
  let digest: Digest;
  try {
    digest = parseDigest(v["digest"]);
  } catch (e) {
    throw new InvalidDigestError(`${what}: ${(e as Error).message}`, { cause: e });
  }
  const size = v["size"];
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw new InvalidArchiveError(`${what} (${digest}): "size" must be a non-negative integer`);
  }
  const annotations = v["annotations"];
  if (annotations !== undefined && annotations !== null) {
    if (!isPlainObject(annotations) || Object.values(annotations).some((a) => typeof a !== "string")) {
      throw new InvalidArchiveError(`${what} (${digest}): "annotations" must map strings to strings`);
    }
  }
  const urls = v["urls"];
  if (urls !== undefined && urls !== null) {
    if (!Array.isArray(urls) || urls.some((u) => typeof u !== "string")) {
      throw new InvalidArchiveError(`${what} (${digest}): "urls" must be a list of strings`);
    }
  }
  return {
    mediaType,
    digest,
    size,
    ...(isPlainObject(annotations) ? { annotations: annotations as Record<string, string> } : {}),
    ...(Array.isArray(urls) ? { urls: urls as string[] } : {}),
    json: v,
  };
}

/**
 * Parses and validates index.json (`where` names the layout in errors).
 * Malformed JSON or descriptors throw `InvalidArchiveError`; invalid digests
 * (e.g. `sha256:../../x`) throw `InvalidDigestError` naming the entry.
 */
export function parseLayoutIndex(bytes: Uint8Array, where: string): LayoutIndex {
  const what = `index.json of ${where}`;
  let root: unknown;
  try {
    root = JSON.parse(fromUtf8(bytes));
  } catch (e) {
    throw new InvalidArchiveError(`${what} is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (!isPlainObject(root)) throw new InvalidArchiveError(`${what} must be a JSON object`);
  const sv = root["schemaVersion"];
  if (sv !== undefined && sv !== 2) throw new InvalidArchiveError(`${what}: unsupported schemaVersion ${JSON.stringify(sv)} (expected 2)`);
  const ms = root["manifests"] ?? [];
  if (!Array.isArray(ms)) throw new InvalidArchiveError(`${what}: "manifests" must be a list`);
  const manifests = ms.map((m, i) => parseLayoutDescriptor(m, `${what}: manifests[${i}]`));
  const json: Record<string, unknown> = { ...root };
  delete json["manifests"];
  return { json, manifests };
}

/** An index.json with no images, as Stevedore starts a new layout. */
export function emptyLayoutIndex(): LayoutIndex {
  return { json: { schemaVersion: 2, mediaType: OCI_INDEX_MEDIA_TYPE }, manifests: [] };
}

/** The bytes of index.json for `index` (compact JSON, fields as read plus `manifests`). */
export function serializeLayoutIndex(index: LayoutIndex): Uint8Array {
  const out: Record<string, unknown> = {};
  // Keep schemaVersion and mediaType first, as other tools write them.
  if ("schemaVersion" in index.json) out["schemaVersion"] = index.json["schemaVersion"];
  else out["schemaVersion"] = 2;
  if ("mediaType" in index.json) out["mediaType"] = index.json["mediaType"];
  for (const [k, v] of Object.entries(index.json)) if (!(k in out)) out[k] = v;
  out["manifests"] = index.manifests.map((d) => d.json);
  return utf8(JSON.stringify(out));
}

/** The image name of a descriptor, if it has one. */
export function refNameOf(d: LayoutDescriptor): string | undefined {
  const n = d.annotations?.[REF_NAME_ANNOTATION];
  return n === undefined || n === "" ? undefined : n;
}

/** A descriptor for index.json: media type, digest, size, and the name annotation when `name` is non-empty. */
export function makeLayoutDescriptor(mediaType: string, digest: Digest, size: number, name?: string): LayoutDescriptor {
  const annotations = name ? { [REF_NAME_ANNOTATION]: name } : undefined;
  const json: Record<string, unknown> = { mediaType, digest, size, ...(annotations ? { annotations } : {}) };
  return { mediaType, digest, size, ...(annotations ? { annotations } : {}), json };
}

function withoutName(d: LayoutDescriptor): LayoutDescriptor {
  const annotations: Record<string, string> = { ...d.annotations };
  delete annotations[REF_NAME_ANNOTATION];
  const json: Record<string, unknown> = { ...d.json };
  const has = Object.keys(annotations).length > 0;
  if (has) json["annotations"] = annotations;
  else delete json["annotations"];
  const { annotations: _a, ...rest } = d;
  return { ...rest, ...(has ? { annotations } : {}), json };
}

/**
 * `index` with `desc` added, as containers/image adds a manifest: a name on
 * the new entry is removed from the older entries that had it (they stay,
 * unnamed); an unnamed entry with the same digest is replaced; otherwise
 * the entry is appended.
 */
export function withManifest(index: LayoutIndex, desc: LayoutDescriptor): LayoutIndex {
  const name = refNameOf(desc);
  let manifests = index.manifests.map((m) => (name !== undefined && refNameOf(m) === name ? withoutName(m) : m));
  const same = manifests.findIndex((m) => m.digest === desc.digest && refNameOf(m) === undefined);
  if (same >= 0) manifests = manifests.map((m, i) => (i === same ? desc : m));
  else manifests = [...manifests, desc];
  return { json: index.json, manifests };
}

/** `index` without the entry at `position`. */
export function withoutManifestAt(index: LayoutIndex, position: number): LayoutIndex {
  return { json: index.json, manifests: index.manifests.filter((_, i) => i !== position) };
}

function describeEntries(index: LayoutIndex): string {
  const names = index.manifests.map((m) => refNameOf(m));
  const named = names.filter((n): n is string => n !== undefined).map((n) => JSON.stringify(n));
  const unnamed = names.length - named.length;
  const parts = [...named];
  if (unnamed > 0) parts.push(`${unnamed} unnamed`);
  return parts.length > 0 ? parts.join(", ") : "nothing";
}

/** Whether a media type is one a layout image entry may have. */
export function isLayoutImageMediaType(mediaType: string): boolean {
  return mediaType === OCI_MANIFEST_MEDIA_TYPE || mediaType === OCI_INDEX_MEDIA_TYPE;
}

/**
 * Finds the entry `selector` means, as containers/image does: by position;
 * by name (the first OCI manifest or index entry with that name); or, with
 * neither, the only entry. `where` is the transport-qualified location used
 * in messages and fixes (e.g. `oci:/srv/layout`). Throws
 * `ImageNotFoundError` (missing name, empty layout, position out of range),
 * `AmbiguousImageError` (several images and no name, listing the names) or
 * `UnsupportedManifestTypeError` (the name is on something else).
 */
export function selectImage(index: LayoutIndex, selector: ImageSelector, where: string): { descriptor: LayoutDescriptor; position: number } {
  const { name, sourceIndex } = selector;
  if (sourceIndex !== undefined) {
    if (name) throw new StevedoreError(`${where}: cannot select both the image ${JSON.stringify(name)} and the entry @${sourceIndex}`);
    const d = index.manifests[sourceIndex];
    if (d === undefined) {
      throw new ImageNotFoundError(`${where}: there is no entry @${sourceIndex} in index.json, which has ${index.manifests.length} entries`);
    }
    return { descriptor: d, position: sourceIndex };
  }
  if (name) {
    const unsupported: string[] = [];
    for (const [i, d] of index.manifests.entries()) {
      if (refNameOf(d) !== name) continue;
      if (isLayoutImageMediaType(d.mediaType)) return { descriptor: d, position: i };
      unsupported.push(d.mediaType === "" ? "(no media type)" : d.mediaType);
    }
    if (unsupported.length > 0) {
      throw new UnsupportedManifestTypeError(`${where}: the name ${JSON.stringify(name)} is on entries of unsupported media types: ${unsupported.join(", ")}`);
    }
    throw new ImageNotFoundError(`${where}: no image named ${JSON.stringify(name)} (the layout has: ${describeEntries(index)})`);
  }
  if (index.manifests.length === 0) throw new ImageNotFoundError(`${where}: the layout holds no images`);
  if (index.manifests.length > 1) {
    throw new AmbiguousImageError(
      `${where}: the layout holds ${index.manifests.length} images (${describeEntries(index)}); choose one with ${where}:NAME or ${where}:@N`,
    );
  }
  return { descriptor: index.manifests[0]!, position: 0 };
}
