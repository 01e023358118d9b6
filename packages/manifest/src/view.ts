import { DOCKER_LIST_MEDIA_TYPE, DOCKER_SCHEMA2_MEDIA_TYPE, parseSchema2List, parseSchema2Manifest, type Schema2List, type Schema2Manifest } from "@stevedore/manifest-docker";
import {
  DOCKER_SCHEMA1_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  parseSchema1Manifest,
  schema1Payload,
  verifySchema1Signatures,
  type Schema1Manifest,
  type VerifiedSchema1Signature,
} from "@stevedore/manifest-docker-schema1";
import {
  isOCIImage,
  MAX_MANIFEST_SIZE,
  ociArtifactType,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  parseOCIIndex,
  parseOCIManifest,
  type OCIDescriptor,
  type OCIIndex,
  type OCIManifest,
} from "@stevedore/manifest-oci";
import {
  digestOf,
  NotAnImageError,
  parseDigest,
  SizeLimitExceededError,
  UnsupportedManifestTypeError,
  digestAlgorithm,
  type BlobInfo,
  type Digest,
  type DigestAlgorithm,
  type Platform,
  type RawManifest,
} from "@stevedore/types";
import { layerCompressionOf, type LayerCompression } from "./compression.js";
import { guessMIMEType, MANIFEST_MIME_TYPES, normalizeMIMEType } from "./mime.js";

/** A layer of an image manifest, in order from the base layer up. */
export interface ManifestLayer extends BlobInfo {
  digest: Digest;
  /** Size in bytes; −1 for schema 1, which does not record sizes. */
  size: number;
  /** The descriptor's media type; "" for schema 1. */
  mediaType: string;
  /** Compression as the media type says ("unknown" for schema 1 and artifact layers). */
  compression: LayerCompression;
  /** The media type has the `+encrypted` suffix. */
  encrypted: boolean;
  /** A non-distributable (OCI) or foreign (Docker) layer. */
  nonDistributable: boolean;
  /** A schema 1 layer marked `throwaway` (it carries no filesystem change). */
  emptyLayer: boolean;
}

/** The config descriptor of an image manifest. */
export interface ManifestConfig {
  digest: Digest;
  size: number;
  mediaType: string;
  urls?: string[];
  annotations?: Record<string, string>;
}

/** An instance of a manifest list or image index. */
export interface ManifestInstance {
  digest: Digest;
  size: number;
  mediaType: string;
  /** Its platform; OCI index entries may have none. */
  platform?: Platform & { features?: string[] };
  urls?: string[];
  annotations?: Record<string, string>;
  artifactType?: string;
  /** The layer compressions the instance uses, per its annotations (gzip unless marked zstd). */
  compressionAlgorithms: ("gzip" | "zstd")[];
}

/** The format-specific model behind an image view. */
export type ImageManifestFormat =
  | { type: "oci"; manifest: OCIManifest }
  | { type: "docker-schema2"; manifest: Schema2Manifest }
  | { type: "docker-schema1"; manifest: Schema1Manifest; signed: boolean; payload: Uint8Array };

/** The format-specific model behind a list view. */
export type ListManifestFormat = { type: "oci-index"; index: OCIIndex } | { type: "docker-list"; list: Schema2List };

interface ViewBase {
  /** The manifest exactly as given. */
  readonly bytes: Uint8Array;
  /** Its MIME type (for schema 1: signed or unsigned, by content). */
  readonly mimeType: string;
  /** Its digest (sha256; for signed schema 1, of the JWS payload). */
  readonly digest: Digest;
}

/** A single-image manifest of any format. */
export interface ImageManifestView extends ViewBase {
  readonly kind: "image";
  /** The config descriptor; undefined for schema 1 (its config is in its history). */
  readonly config?: ManifestConfig;
  readonly layers: readonly ManifestLayer[];
  /** An OCI manifest whose config is not an OCI image config. */
  readonly isArtifact: boolean;
  /** For OCI manifests: `artifactType`, else the config media type. */
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  /** OCI 1.1 `subject`. */
  readonly subject?: OCIDescriptor;
  /** Schema 1's embedded `name` and `tag`. */
  readonly embeddedReference?: { name: string; tag: string };
  readonly format: ImageManifestFormat;
}

/** A Docker manifest list or OCI image index. */
export interface ListManifestView extends ViewBase {
  readonly kind: "list";
  readonly instances: readonly ManifestInstance[];
  readonly annotations?: Readonly<Record<string, string>>;
  readonly artifactType?: string;
  readonly subject?: OCIDescriptor;
  readonly format: ListManifestFormat;
}

/** A parsed manifest of any format. */
export type ManifestView = ImageManifestView | ListManifestView;

/** The OCI index annotation marking an instance whose layers are zstd-compressed. */
export const ZSTD_INSTANCE_ANNOTATION = "io.github.containers.compression.zstd";

function checkSize(bytes: Uint8Array): void {
  if (bytes.byteLength > MAX_MANIFEST_SIZE) {
    throw new SizeLimitExceededError(`manifest is ${bytes.byteLength} bytes, larger than the limit of ${MAX_MANIFEST_SIZE} bytes`);
  }
}

/**
 * The MIME type a manifest is parsed as: `mimeType` when it is a manifest
 * type Stevedore knows; otherwise (missing, "", `application/json`,
 * `text/plain`, anything else) the type guessed from the content, and when
 * that fails schema 1 signed, as the Go library's `NormalizedMIMEType`.
 */
export function effectiveMIMEType(bytes: Uint8Array, mimeType?: string): string {
  const base = mimeType?.split(";")[0]?.trim() ?? "";
  if (MANIFEST_MIME_TYPES.includes(base)) return base;
  return guessMIMEType(bytes) || normalizeMIMEType(base);
}

function layerOf(d: { digest: Digest; size: number; mediaType: string; urls?: string[]; annotations?: Record<string, string> }): ManifestLayer {
  const l: ManifestLayer = { digest: d.digest, size: d.size, mediaType: d.mediaType, ...layerCompressionOf(d.mediaType, d.annotations), emptyLayer: false };
  if (d.urls !== undefined) l.urls = d.urls;
  if (d.annotations !== undefined) l.annotations = d.annotations;
  return l;
}

function configOf(d: { digest: Digest; size: number; mediaType: string; urls?: string[]; annotations?: Record<string, string> }): ManifestConfig {
  const c: ManifestConfig = { digest: d.digest, size: d.size, mediaType: d.mediaType };
  if (d.urls !== undefined) c.urls = d.urls;
  if (d.annotations !== undefined) c.annotations = d.annotations;
  return c;
}

/** The image view of a parsed OCI manifest. */
export function viewOfOCIManifest(bytes: Uint8Array, m: OCIManifest): ImageManifestView {
  return {
    kind: "image",
    bytes,
    mimeType: OCI_MANIFEST_MEDIA_TYPE,
    digest: digestOf(bytes),
    config: configOf(m.config),
    layers: m.layers.map(layerOf),
    isArtifact: !isOCIImage(m),
    artifactType: ociArtifactType(m),
    ...(m.annotations !== undefined ? { annotations: m.annotations } : {}),
    ...(m.subject !== undefined ? { subject: m.subject } : {}),
    format: { type: "oci", manifest: m },
  };
}

/** The image view of a parsed Docker schema 2 manifest. */
export function viewOfSchema2Manifest(bytes: Uint8Array, m: Schema2Manifest): ImageManifestView {
  return {
    kind: "image",
    bytes,
    mimeType: DOCKER_SCHEMA2_MEDIA_TYPE,
    digest: digestOf(bytes),
    config: configOf(m.config),
    layers: m.layers.map(layerOf),
    isArtifact: false,
    format: { type: "docker-schema2", manifest: m },
  };
}

/** The image view of a parsed schema 1 manifest: layers are `fsLayers` reversed, `throwaway` ones marked empty. */
export function viewOfSchema1Manifest(bytes: Uint8Array, m: Schema1Manifest, signed: boolean, payload: Uint8Array): ImageManifestView {
  const n = m.fsLayers.length;
  const layers: ManifestLayer[] = [];
  for (let i = n - 1; i >= 0; i--) {
    layers.push({
      digest: (m.fsLayers[i] as { blobSum: Digest }).blobSum,
      size: -1,
      mediaType: "",
      compression: "unknown",
      encrypted: false,
      nonDistributable: false,
      emptyLayer: m.v1Compatibility[i]?.throwAway ?? false,
    });
  }
  return {
    kind: "image",
    bytes,
    mimeType: signed ? DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE : DOCKER_SCHEMA1_MEDIA_TYPE,
    digest: digestOf(payload),
    layers,
    isArtifact: false,
    embeddedReference: { name: m.name, tag: m.tag },
    format: { type: "docker-schema1", manifest: m, signed, payload },
  };
}

function instanceOf(d: OCIDescriptor & { platform?: { features?: string[] } }): ManifestInstance {
  const inst: ManifestInstance = {
    digest: d.digest,
    size: d.size,
    mediaType: d.mediaType,
    compressionAlgorithms: d.annotations?.[ZSTD_INSTANCE_ANNOTATION] === "true" ? ["zstd"] : ["gzip"],
  };
  if (d.platform !== undefined) {
    const p: Platform & { features?: string[] } = { architecture: d.platform.architecture, os: d.platform.os };
    if (d.platform.variant !== undefined) p.variant = d.platform.variant;
    if (d.platform.osVersion !== undefined) p.osVersion = d.platform.osVersion;
    if (d.platform.osFeatures !== undefined) p.osFeatures = d.platform.osFeatures;
    if (d.platform.features !== undefined) p.features = d.platform.features;
    inst.platform = p;
  }
  if (d.urls !== undefined) inst.urls = d.urls;
  if (d.annotations !== undefined) inst.annotations = d.annotations;
  if (d.artifactType !== undefined) inst.artifactType = d.artifactType;
  return inst;
}

/** The list view of a parsed OCI index. */
export function viewOfOCIIndex(bytes: Uint8Array, index: OCIIndex): ListManifestView {
  return {
    kind: "list",
    bytes,
    mimeType: OCI_INDEX_MEDIA_TYPE,
    digest: digestOf(bytes),
    instances: index.manifests.map(instanceOf),
    ...(index.annotations !== undefined ? { annotations: index.annotations } : {}),
    ...(index.artifactType !== undefined ? { artifactType: index.artifactType } : {}),
    ...(index.subject !== undefined ? { subject: index.subject } : {}),
    format: { type: "oci-index", index },
  };
}

/** The list view of a parsed Docker manifest list. */
export function viewOfSchema2List(bytes: Uint8Array, list: Schema2List): ListManifestView {
  return {
    kind: "list",
    bytes,
    mimeType: DOCKER_LIST_MEDIA_TYPE,
    digest: digestOf(bytes),
    instances: list.manifests.map((e) => {
      const inst = instanceOf({ ...e, platform: e.platform });
      inst.compressionAlgorithms = ["gzip"];
      return inst;
    }),
    format: { type: "docker-list", list },
  };
}

/**
 * Parses a manifest of any format into a common view, keeping its bytes.
 * `mimeType` is what the source reported; when it is missing or not a
 * manifest type (`text/plain`, `application/json`, "") the type is guessed
 * from the content (see {@link effectiveMIMEType}). The format's parser is
 * strict: fields of another format ("ambiguous manifest"), invalid digests,
 * negative or fractional sizes, a wrong `schemaVersion` or `mediaType`,
 * invalid JSON and nesting deeper than 256 levels throw
 * `InvalidManifestError`; more than 4 MiB throws `SizeLimitExceededError`.
 * Schema 1 signatures are checked for structure only; see
 * {@link verifyManifestSignatures}.
 */
export function parseManifest(bytes: Uint8Array, mimeType?: string): ManifestView {
  checkSize(bytes);
  const mt = effectiveMIMEType(bytes, mimeType);
  switch (mt) {
    case OCI_MANIFEST_MEDIA_TYPE:
      return viewOfOCIManifest(bytes, parseOCIManifest(bytes));
    case DOCKER_SCHEMA2_MEDIA_TYPE:
      return viewOfSchema2Manifest(bytes, parseSchema2Manifest(bytes));
    case OCI_INDEX_MEDIA_TYPE:
      return viewOfOCIIndex(bytes, parseOCIIndex(bytes));
    case DOCKER_LIST_MEDIA_TYPE:
      return viewOfSchema2List(bytes, parseSchema2List(bytes));
    case DOCKER_SCHEMA1_MEDIA_TYPE:
    case DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE: {
      const p = parseSchema1Manifest(bytes);
      return viewOfSchema1Manifest(bytes, p.manifest, p.signed, p.payload);
    }
    default:
      throw new UnsupportedManifestTypeError(`unsupported manifest type "${mt}"`);
  }
}

/** {@link parseManifest} of a `RawManifest` (bytes and the MIME type its source reported). */
export function parseRawManifest(raw: RawManifest): ManifestView {
  return parseManifest(raw.bytes, raw.mimeType);
}

/**
 * Parses and requires a single-image manifest; a list throws
 * `UnsupportedManifestTypeError` naming the fix (choose an instance first).
 */
export function parseImageManifest(bytes: Uint8Array, mimeType?: string): ImageManifestView {
  const v = parseManifest(bytes, mimeType);
  if (v.kind !== "image") {
    throw new UnsupportedManifestTypeError(`expected an image manifest, got a ${v.mimeType} list; choose one of its instances first`);
  }
  return v;
}

/**
 * The digest of a manifest as registries compute it: of the bytes, or for a
 * signed schema 1 manifest of its JWS payload (the manifest without its
 * signatures). Throws `SizeLimitExceededError` over 4 MiB and
 * `InvalidManifestError` when a signed schema 1 manifest's signature
 * structure is malformed.
 */
export function manifestDigest(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): Digest {
  checkSize(bytes);
  if (guessMIMEType(bytes) === DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE) return digestOf(schema1Payload(bytes), algorithm);
  return digestOf(bytes, algorithm);
}

/**
 * Whether the manifest's digest (see {@link manifestDigest}), computed with
 * `expected`'s algorithm, is `expected`. Throws `InvalidDigestError` for an
 * invalid `expected`.
 */
export function matchesDigest(bytes: Uint8Array, expected: string): boolean {
  const d = parseDigest(expected);
  return manifestDigest(bytes, digestAlgorithm(d)) === d;
}

/**
 * Verifies a signed schema 1 manifest's JWS signatures with the keys in their
 * headers (integrity only: the keys are usually ephemeral); other formats
 * have no embedded signatures and give `[]`. Throws `SignatureInvalidError`
 * when a signature does not match.
 */
export async function verifyManifestSignatures(manifest: ManifestView | Uint8Array): Promise<VerifiedSchema1Signature[]> {
  const view = manifest instanceof Uint8Array ? parseManifest(manifest) : manifest;
  if (view.kind === "image" && view.format.type === "docker-schema1" && view.format.signed) return verifySchema1Signatures(view.bytes);
  return [];
}

/** Throws `NotAnImageError` when `view` is an OCI artifact; `operation` names what needed an image. */
export function requireImage(view: ImageManifestView, operation: string): void {
  if (view.isArtifact) {
    throw new NotAnImageError(`${operation}: this is an OCI artifact (config type ${view.config?.mediaType ?? "?"}), not a container image`);
  }
}
