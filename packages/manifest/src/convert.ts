import {
  DOCKER_CONFIG_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_MEDIA_TYPE,
  DOCKER_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_LAYER_MEDIA_TYPE,
  DOCKER_LAYER_ZSTD_MEDIA_TYPE,
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  encodeSchema2Descriptor,
  serializeSchema2List,
  serializeSchema2Manifest,
  type Schema2Descriptor,
  type Schema2List,
  type Schema2ListEntry,
  type Schema2Manifest,
} from "@stevedore/manifest-docker";
import {
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  encodeV1Compatibility,
  serializeSchema1Manifest,
  type Schema1FSLayer,
  type Schema1HistoryEntry,
  type Schema1Manifest,
} from "@stevedore/manifest-docker-schema1";
import {
  encodeOCIDescriptor,
  goArray,
  OCI_CONFIG_MEDIA_TYPE,
  OCI_ENCRYPTED_SUFFIX,
  OCI_INDEX_MEDIA_TYPE,
  OCI_LAYER_GZIP_MEDIA_TYPE,
  OCI_LAYER_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE,
  OCI_LAYER_ZSTD_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  serializeOCIIndex,
  serializeOCIManifest,
  type OCIDescriptor,
  type OCIIndex,
  type OCIManifest,
} from "@stevedore/manifest-oci";
import {
  digestHex,
  digestOf,
  DigestMismatchError,
  InternalError,
  InvalidManifestError,
  parseDigest,
  UnsupportedError,
  UnsupportedManifestTypeError,
  utf8,
  type BlobInfo,
  type Digest,
  type DockerReference,
  type Platform,
  type RawManifest,
} from "@stevedore/types";
import { updatedLayerMediaType, ZSTD_CHUNKED_MANIFEST_CHECKSUM_ANNOTATION, ZSTD_CHUNKED_MANIFEST_POSITION_ANNOTATION } from "./compression.js";
import { decodeConfig, ociConfigFromDockerConfig, schema2ConfigFromSchema1, SCHEMA2_IMAGE_TYPE, v1ConfigFromConfigJSON, type GoStruct } from "./config.js";
import { GZIPPED_EMPTY_LAYER, GZIPPED_EMPTY_LAYER_DIGEST } from "./empty-layer.js";
import { ManifestLayerCompressionIncompatibleError } from "./errors.js";
import { isImageMIMEType, isListMIMEType, isSchema1MIMEType, MANIFEST_MIME_TYPES } from "./mime.js";
import {
  parseManifest,
  parseRawManifest,
  requireImage,
  type ImageManifestView,
  type ListManifestView,
  type ManifestView,
} from "./view.js";

/** The name and tag a schema 1 manifest embeds (a `DockerReference` fits). */
export interface EmbeddedReference {
  /** The repository; a full name (`docker.io/library/busybox`) is embedded without its registry, as the Go library does. */
  readonly name: string;
  readonly tag?: string;
}

/** New values for one instance of a list. */
export interface InstanceUpdate {
  digest: Digest;
  size: number;
  mediaType: string;
}

/** What {@link updateManifest} should change. */
export interface ManifestEdits {
  /**
   * One entry per layer of the original manifest (schema 1: including empty
   * layers), base first: the blob as stored at the destination. `digest` and
   * `size` (unless −1) replace the layer's; `compressionOperation` and
   * `compressionAlgorithm` change its media type; `urls` and `annotations`
   * replace the layer's when present and are kept when absent (pass `[]` /
   * `{}` to remove them). `mediaType` is ignored.
   */
  layerInfos?: readonly BlobInfo[];
  /** The manifest MIME type to produce; default: the original's. */
  targetMIMEType?: string;
  /** For schema 1 results: the destination's name and tag. */
  embeddedReference?: EmbeddedReference | DockerReference;
  /** Schema 1 → schema 2/OCI only: the uncompressed digest of each layer (same order as `layerInfos`). */
  layerDiffIDs?: readonly Digest[];
  /** The original's config blob; needed by schema 2 → OCI and by conversions to schema 1. */
  configBytes?: Uint8Array;
  /** Lists only: new digest, size and media type for each instance, in order. */
  instances?: readonly InstanceUpdate[];
  /** OCI index → Docker list: the platform given to entries that have none (the Go library uses its own runtime's). */
  defaultPlatform?: Platform;
}

/** A blob an updated manifest references that the original did not: the copy must store it. */
export interface NewBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  bytes: Uint8Array;
  /** The blob is the (converted or synthesised) image config. */
  isConfig: boolean;
  /** The blob is the gzipped empty layer of schema 1. */
  emptyLayer: boolean;
}

/** The result of {@link updateManifest}. */
export interface UpdatedManifest {
  /** The manifest to store: the original bytes when nothing changed. */
  bytes: Uint8Array;
  mimeType: string;
  digest: Digest;
  /** Whether the bytes differ from the original's. */
  changed: boolean;
  /** The result, parsed. */
  view: ManifestView;
  /** Blobs to store in addition to the layers (a new config, the empty layer). */
  newBlobs: NewBlob[];
}

function toView(original: ManifestView | RawManifest): ManifestView {
  return "kind" in original ? original : parseRawManifest(original);
}

function targetOf(view: ManifestView, edits: ManifestEdits): string {
  const t = edits.targetMIMEType;
  if (t === undefined || t === "") return view.mimeType;
  if (!MANIFEST_MIME_TYPES.includes(t)) throw new UnsupportedManifestTypeError(`cannot convert a manifest to unsupported type "${t}"`);
  return t;
}

/**
 * Whether {@link updateManifest} with `edits` needs `layerDiffIDs`: only when
 * converting schema 1 to schema 2 or OCI (the config it synthesises lists
 * them, which forces the copy to read every layer in full).
 */
export function updateNeedsLayerDiffIDs(original: ManifestView | RawManifest, edits: Pick<ManifestEdits, "targetMIMEType">): boolean {
  const view = toView(original);
  if (view.kind !== "image" || view.format.type !== "docker-schema1") return false;
  const t = targetOf(view, edits);
  return !isSchema1MIMEType(t);
}

/**
 * Whether {@link updateManifest} with `edits` needs `configBytes`: schema 2
 * → OCI (the config is rewritten) and schema 2/OCI → schema 1 (the history
 * comes from the config).
 */
export function updateNeedsConfig(original: ManifestView | RawManifest, edits: Pick<ManifestEdits, "targetMIMEType">): boolean {
  const view = toView(original);
  if (view.kind !== "image" || view.format.type === "docker-schema1") return false;
  const t = targetOf(view, edits);
  return isSchema1MIMEType(t) || (view.format.type === "docker-schema2" && t === OCI_MANIFEST_MEDIA_TYPE);
}

function unchanged(view: ManifestView): UpdatedManifest {
  return { bytes: view.bytes, mimeType: view.mimeType, digest: view.digest, changed: false, view, newBlobs: [] };
}

function result(bytes: Uint8Array, mimeType: string, newBlobs: NewBlob[]): UpdatedManifest {
  const view = parseManifest(bytes, mimeType);
  return { bytes, mimeType: view.mimeType, digest: view.digest, changed: true, view, newBlobs };
}

function configBlob(bytes: Uint8Array, mediaType: string): NewBlob {
  return { digest: digestOf(bytes), size: bytes.byteLength, mediaType, bytes, isConfig: true, emptyLayer: false };
}

function requireConfig(view: ImageManifestView, edits: ManifestEdits, why: string): Uint8Array {
  const config = view.config;
  if (edits.configBytes === undefined || config === undefined) {
    throw new InternalError(`${why} needs the image config (configBytes)`);
  }
  const actual = digestOf(edits.configBytes, config.digest.slice(0, config.digest.indexOf(":")) as "sha256");
  if (actual !== config.digest) throw new DigestMismatchError("image config", config.digest, actual);
  return edits.configBytes;
}

// ---------------------------------------------------------------------------
// Layer edits

interface DescriptorLike {
  mediaType: string;
  digest: Digest;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
}

function applyLayerInfo<T extends DescriptorLike>(format: "oci" | "docker-schema2", layer: T, info: BlobInfo, withAnnotations: boolean): T {
  const mediaType = updatedLayerMediaType(format, layer.mediaType, info);
  const out: T = { ...layer, mediaType, digest: info.digest !== undefined ? parseDigest(info.digest) : layer.digest, size: info.size >= 0 ? info.size : layer.size };
  if (info.urls !== undefined) {
    if (info.urls.length > 0) out.urls = [...info.urls];
    else delete out.urls;
  }
  if (withAnnotations) {
    if (info.annotations !== undefined) {
      if (Object.keys(info.annotations).length > 0) out.annotations = { ...info.annotations };
      else delete out.annotations;
    } else if (mediaType !== layer.mediaType && out.annotations !== undefined) {
      // A recompressed layer no longer has a zstd:chunked table of contents.
      const a = { ...out.annotations };
      delete a[ZSTD_CHUNKED_MANIFEST_CHECKSUM_ANNOTATION];
      delete a[ZSTD_CHUNKED_MANIFEST_POSITION_ANNOTATION];
      if (Object.keys(a).length > 0) out.annotations = a;
      else delete out.annotations;
    }
  }
  if ("data" in out && (out.digest !== layer.digest || out.size !== layer.size)) delete (out as { data?: unknown }).data;
  return out;
}

function checkLayerCount(view: ImageManifestView, infos: readonly unknown[] | undefined, what: string): void {
  if (infos !== undefined && infos.length !== view.layers.length) {
    throw new InternalError(`preparing an updated manifest: ${what} has ${infos.length} entries for ${view.layers.length} layers`);
  }
}

// ---------------------------------------------------------------------------
// Format conversions of the models

const S2_TO_OCI: Readonly<Record<string, string>> = {
  [DOCKER_FOREIGN_LAYER_MEDIA_TYPE]: OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE,
  [DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE]: OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE,
  [DOCKER_LAYER_MEDIA_TYPE]: OCI_LAYER_MEDIA_TYPE,
  [DOCKER_LAYER_GZIP_MEDIA_TYPE]: OCI_LAYER_GZIP_MEDIA_TYPE,
  [DOCKER_LAYER_ZSTD_MEDIA_TYPE]: OCI_LAYER_ZSTD_MEDIA_TYPE,
};
const OCI_TO_S2: Readonly<Record<string, string>> = {
  [OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE]: DOCKER_FOREIGN_LAYER_MEDIA_TYPE,
  [OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE]: DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
  [OCI_LAYER_MEDIA_TYPE]: DOCKER_LAYER_MEDIA_TYPE,
  [OCI_LAYER_GZIP_MEDIA_TYPE]: DOCKER_LAYER_GZIP_MEDIA_TYPE,
};

/**
 * An OCI image manifest as Docker schema 2, as the Go library converts it:
 * the config gets Docker's config media type (same blob), layer media types
 * are mapped (non-distributable ↔ foreign), URLs kept, annotations and
 * `subject` dropped. Throws `NotAnImageError` for artifacts,
 * {@link ManifestLayerCompressionIncompatibleError} for zstd layers and
 * `UnsupportedError` for encrypted or unknown layer types.
 */
export function schema2FromOCI(m: OCIManifest): Schema2Manifest {
  if (m.config.mediaType !== OCI_CONFIG_MEDIA_TYPE) {
    throw new UnsupportedError("internal: schema2FromOCI called on an artifact"); // callers check requireImage first
  }
  const layers = m.layers.map((l): Schema2Descriptor => {
    const mt = OCI_TO_S2[l.mediaType];
    if (mt === undefined) {
      if (l.mediaType === OCI_LAYER_ZSTD_MEDIA_TYPE || l.mediaType === OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE) {
        throw new ManifestLayerCompressionIncompatibleError(
          `converting to Docker schema 2: layer ${l.digest} is zstd-compressed ("${l.mediaType}"), which Docker images cannot carry`,
        );
      }
      if (l.mediaType.endsWith(OCI_ENCRYPTED_SUFFIX)) {
        throw new UnsupportedError(`converting to Docker schema 2: layer ${l.digest} is encrypted ("${l.mediaType}"), which Docker images cannot carry`);
      }
      throw new UnsupportedError(`converting to Docker schema 2: unknown layer media type "${l.mediaType}" (layer ${l.digest})`);
    }
    return { mediaType: mt, size: l.size, digest: l.digest, ...(l.urls !== undefined && l.urls.length > 0 ? { urls: l.urls } : {}) };
  });
  const c = m.config;
  return {
    schemaVersion: 2,
    mediaType: DOCKER_SCHEMA2_MEDIA_TYPE,
    config: { mediaType: DOCKER_CONFIG_MEDIA_TYPE, size: c.size, digest: c.digest, ...(c.urls !== undefined && c.urls.length > 0 ? { urls: c.urls } : {}) },
    layers,
  };
}

/**
 * A Docker schema 2 manifest as OCI, with `config` the descriptor of the
 * converted config (see `ociConfigFromDockerConfig`); layer media types
 * mapped (foreign ↔ non-distributable), URLs kept. Throws
 * `UnsupportedError` for a layer type without an OCI counterpart.
 */
export function ociFromSchema2(m: Schema2Manifest, config: OCIDescriptor): OCIManifest {
  return {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST_MEDIA_TYPE,
    config,
    layers: m.layers.map((l): OCIDescriptor => {
      const mt = S2_TO_OCI[l.mediaType];
      if (mt === undefined) throw new UnsupportedError(`converting to OCI: unknown layer media type "${l.mediaType}" (layer ${l.digest})`);
      return { mediaType: mt, digest: l.digest, size: l.size, ...(l.urls !== undefined && l.urls.length > 0 ? { urls: l.urls } : {}) };
    }),
  };
}

/** The path of a repository name: a full name without its registry. */
function referencePath(name: string): string {
  const i = name.indexOf("/");
  if (i < 0) return name;
  const first = name.slice(0, i);
  return first.includes(".") || first.includes(":") || first === "localhost" || first !== first.toLowerCase() ? name.slice(i + 1) : name;
}

function v1IDOf(blobDigest: Digest, ...others: string[]): string {
  return digestHex(digestOf(utf8([digestHex(parseDigest(blobDigest)), ...others].join(" "))));
}

interface Schema1Layer {
  /** The digest the v1 IDs are computed from (the source's, as the Go library does). */
  idDigest: Digest;
  /** The digest stored in `fsLayers`. */
  digest: Digest;
}

/**
 * Builds the schema 1 manifest the Go library makes of a schema 2 image
 * (based on docker/distribution's config builder): one `fsLayers`/`history`
 * entry per config history entry, top first; empty history entries get the
 * gzipped empty layer; v1 IDs chained from the blob digests; the top entry
 * carries the full config.
 */
function schema1FromSchema2(layers: readonly Schema1Layer[], configBytes: Uint8Array, ref: EmbeddedReference | undefined): { manifest: Pick<Schema1Manifest, "name" | "tag" | "architecture" | "fsLayers" | "history">; usesEmptyLayer: boolean } {
  const img = decodeConfig(configBytes, SCHEMA2_IMAGE_TYPE, "image config");
  const history = (img.history as GoStruct[] | null) ?? [];
  if (history.length === 0) {
    throw new UnsupportedError(`cannot convert an image with 0 history entries to ${DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE}`);
  }
  const nonEmpty = history.filter((h) => !(h.empty_layer as boolean)).length;
  if (nonEmpty !== layers.length) {
    throw new InvalidManifestError(`invalid image: the config's history lists ${nonEmpty} non-empty layers, the manifest has ${layers.length}`);
  }
  const n = history.length;
  const fsLayers: Schema1FSLayer[] = new Array<Schema1FSLayer>(n);
  const hist: Schema1HistoryEntry[] = new Array<Schema1HistoryEntry>(n);
  let layerIndex = 0;
  let parent = "";
  let v1ID = "";
  let usesEmptyLayer = false;
  for (const [v2Index, h] of history.entries()) {
    parent = v1ID;
    const v1Index = n - 1 - v2Index;
    let idDigest: Digest;
    let blobSum: Digest;
    const empty = h.empty_layer as boolean;
    if (empty) {
      idDigest = blobSum = GZIPPED_EMPTY_LAYER_DIGEST;
      usesEmptyLayer = true;
    } else {
      const l = layers[layerIndex++] as Schema1Layer;
      idDigest = l.idDigest;
      blobSum = l.digest;
    }
    v1ID = v1IDOf(idDigest, parent);
    fsLayers[v1Index] = { blobSum };
    hist[v1Index] = {
      v1Compatibility: encodeV1Compatibility({
        id: v1ID,
        parent,
        comment: h.comment as string,
        created: h.created as string,
        author: h.author as string,
        throwAway: empty,
        cmd: [h.created_by as string],
      }),
    };
  }
  const top = history[n - 1] as GoStruct;
  const topIDDigest = (top.empty_layer as boolean) ? GZIPPED_EMPTY_LAYER_DIGEST : (layers[layers.length - 1] as Schema1Layer).idDigest;
  const topID = v1IDOf(topIDDigest, parent, new TextDecoder().decode(configBytes));
  hist[0] = { v1Compatibility: v1ConfigFromConfigJSON(configBytes, topID, parent, top.empty_layer as boolean) };
  return {
    manifest: {
      name: ref !== undefined ? referencePath(ref.name) : "",
      tag: ref?.tag ?? "",
      architecture: img.architecture as string,
      fsLayers,
      history: hist,
    },
    usesEmptyLayer,
  };
}

const EMPTY_LAYER_BLOB: NewBlob = {
  digest: GZIPPED_EMPTY_LAYER_DIGEST,
  size: GZIPPED_EMPTY_LAYER.byteLength,
  mediaType: DOCKER_LAYER_GZIP_MEDIA_TYPE,
  bytes: GZIPPED_EMPTY_LAYER,
  isConfig: false,
  emptyLayer: true,
};

async function toSchema1(layers: readonly Schema1Layer[], configBytes: Uint8Array, ref: EmbeddedReference | undefined): Promise<UpdatedManifest> {
  const { manifest, usesEmptyLayer } = schema1FromSchema2(layers, configBytes, ref);
  const bytes = await serializeSchema1Manifest(manifest);
  return result(bytes, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE, usesEmptyLayer ? [{ ...EMPTY_LAYER_BLOB }] : []);
}

// ---------------------------------------------------------------------------
// Per source format

async function updateOCI(view: ImageManifestView, m: OCIManifest, target: string, edits: ManifestEdits): Promise<UpdatedManifest> {
  const infos = edits.layerInfos;
  if (target === OCI_MANIFEST_MEDIA_TYPE) {
    if (infos === undefined) return unchanged(view);
    const layers = m.layers.map((l, i) => applyLayerInfo("oci", l, infos[i] as BlobInfo, true));
    if (goArray(layers, encodeOCIDescriptor) === goArray(m.layers, encodeOCIDescriptor)) return unchanged(view);
    return result(serializeOCIManifest({ ...m, layers }), OCI_MANIFEST_MEDIA_TYPE, []);
  }
  requireImage(view, `converting to ${target}`);
  const layers = infos === undefined ? m.layers : m.layers.map((l, i) => applyLayerInfo("oci", l, infos[i] as BlobInfo, true));
  const s2 = schema2FromOCI({ ...m, layers });
  if (target === DOCKER_SCHEMA2_MEDIA_TYPE) return result(serializeSchema2Manifest(s2), DOCKER_SCHEMA2_MEDIA_TYPE, []);
  const config = requireConfig(view, edits, "converting OCI to Docker schema 1");
  return toSchema1(
    m.layers.map((l, i) => ({ idDigest: l.digest, digest: (layers[i] as OCIDescriptor).digest })),
    config,
    edits.embeddedReference,
  );
}

async function updateSchema2(view: ImageManifestView, m: Schema2Manifest, target: string, edits: ManifestEdits): Promise<UpdatedManifest> {
  const infos = edits.layerInfos;
  const layers = infos === undefined ? m.layers : m.layers.map((l, i) => applyLayerInfo("docker-schema2", l, infos[i] as BlobInfo, false));
  if (target === DOCKER_SCHEMA2_MEDIA_TYPE) {
    if (goArray(layers, encodeSchema2Descriptor) === goArray(m.layers, encodeSchema2Descriptor)) return unchanged(view);
    return result(serializeSchema2Manifest({ ...m, layers }), DOCKER_SCHEMA2_MEDIA_TYPE, []);
  }
  const config = requireConfig(view, edits, `converting Docker schema 2 to ${target}`);
  if (target === OCI_MANIFEST_MEDIA_TYPE) {
    const ociConfig = ociConfigFromDockerConfig(config);
    const blob = configBlob(ociConfig, OCI_CONFIG_MEDIA_TYPE);
    const oci = ociFromSchema2({ ...m, layers }, { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: blob.digest, size: blob.size });
    return result(serializeOCIManifest(oci), OCI_MANIFEST_MEDIA_TYPE, [blob]);
  }
  return toSchema1(
    m.layers.map((l, i) => ({ idDigest: l.digest, digest: (layers[i] as Schema2Descriptor).digest })),
    config,
    edits.embeddedReference,
  );
}

async function updateSchema1(view: ImageManifestView, m: Schema1Manifest, target: string, edits: ManifestEdits): Promise<UpdatedManifest> {
  const infos = edits.layerInfos;
  const n = m.fsLayers.length;
  if (isSchema1MIMEType(target)) {
    const fsLayers = m.fsLayers.map((l, v1Index) => {
      const d = infos?.[n - 1 - v1Index]?.digest;
      return { blobSum: d !== undefined ? parseDigest(d) : l.blobSum };
    });
    const ref = edits.embeddedReference;
    const name = ref !== undefined ? referencePath(ref.name) : m.name;
    const tag = ref !== undefined ? (ref.tag ?? "") : m.tag;
    if (name === m.name && tag === m.tag && fsLayers.every((l, i) => l.blobSum === (m.fsLayers[i] as Schema1FSLayer).blobSum)) {
      return unchanged(view);
    }
    const bytes = await serializeSchema1Manifest({ name, tag, architecture: m.architecture, fsLayers, history: m.history });
    return result(bytes, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE, []);
  }
  // To schema 2 or OCI: a config is synthesised from the history, listing the layers' diffIDs.
  const diffIDsIn = edits.layerDiffIDs;
  if (diffIDsIn === undefined) throw new InternalError(`converting schema 1 to ${target} needs the layers' diffIDs (layerDiffIDs)`);
  checkLayerCount(view, diffIDsIn, "layerDiffIDs");
  if (infos === undefined || infos.some((i) => i.size < 0)) {
    throw new InternalError(`converting schema 1 to ${target} needs the stored layers' sizes (layerInfos)`);
  }
  const layers: Schema2Descriptor[] = [];
  const converted: BlobInfo[] = [];
  const diffIDs: Digest[] = [];
  for (let v1Index = n - 1; v1Index >= 0; v1Index--) {
    const v2Index = n - 1 - v1Index;
    if ((m.v1Compatibility[v1Index] as { throwAway: boolean }).throwAway) continue;
    const info = infos[v2Index] as BlobInfo;
    layers.push({ mediaType: DOCKER_LAYER_GZIP_MEDIA_TYPE, size: info.size, digest: (m.fsLayers[v1Index] as Schema1FSLayer).blobSum });
    converted.push(info);
    diffIDs.push(parseDigest(diffIDsIn[v2Index]));
  }
  const s2Config = schema2ConfigFromSchema1(m, diffIDs);
  const s2ConfigBlob = configBlob(s2Config, DOCKER_CONFIG_MEDIA_TYPE);
  const s2: Schema2Manifest = {
    schemaVersion: 2,
    mediaType: DOCKER_SCHEMA2_MEDIA_TYPE,
    config: { mediaType: DOCKER_CONFIG_MEDIA_TYPE, size: s2ConfigBlob.size, digest: s2ConfigBlob.digest },
    layers: layers.map((l, i) => applyLayerInfo("docker-schema2", l, converted[i] as BlobInfo, false)),
  };
  if (target === DOCKER_SCHEMA2_MEDIA_TYPE) return result(serializeSchema2Manifest(s2), DOCKER_SCHEMA2_MEDIA_TYPE, [s2ConfigBlob]);
  const ociConfig = configBlob(ociConfigFromDockerConfig(s2Config), OCI_CONFIG_MEDIA_TYPE);
  const oci = ociFromSchema2(s2, { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: ociConfig.digest, size: ociConfig.size });
  return result(serializeOCIManifest(oci), OCI_MANIFEST_MEDIA_TYPE, [ociConfig]);
}

// ---------------------------------------------------------------------------
// Lists

function checkInstanceUpdates(view: ListManifestView, updates: readonly InstanceUpdate[]): void {
  if (updates.length !== view.instances.length) {
    throw new InternalError(`updating a manifest list: ${updates.length} updates for ${view.instances.length} instances`);
  }
  for (const [i, u] of updates.entries()) {
    parseDigest(u.digest);
    if (!Number.isSafeInteger(u.size) || u.size < 0) {
      throw new InternalError(`update ${i + 1} of ${updates.length} of a manifest list has an invalid size (${u.size})`);
    }
    if (u.mediaType === "") throw new InternalError(`update ${i + 1} of ${updates.length} of a manifest list has no media type`);
  }
}

function ociIndexFromList(list: Schema2List): OCIIndex {
  return {
    schemaVersion: 2,
    mediaType: OCI_INDEX_MEDIA_TYPE,
    manifests: list.manifests.map((e): OCIDescriptor => {
      const p = e.platform;
      return {
        mediaType: e.mediaType,
        digest: e.digest,
        size: e.size,
        ...(e.urls !== undefined && e.urls.length > 0 ? { urls: e.urls } : {}),
        platform: {
          architecture: p.architecture,
          os: p.os,
          ...(p.osVersion ? { osVersion: p.osVersion } : {}),
          ...(p.osFeatures !== undefined && p.osFeatures.length > 0 ? { osFeatures: p.osFeatures } : {}),
          ...(p.variant ? { variant: p.variant } : {}),
        },
      };
    }),
  };
}

function listFromOCIIndex(index: OCIIndex, defaultPlatform: Platform | undefined): Schema2List {
  return {
    schemaVersion: 2,
    mediaType: DOCKER_LIST_MEDIA_TYPE,
    manifests: index.manifests.map((d): Schema2ListEntry => {
      const p = d.platform ?? defaultPlatform;
      if (p === undefined) {
        throw new UnsupportedError(
          `converting to a Docker manifest list: instance ${d.digest} has no platform, which Docker lists require; pass a default platform`,
        );
      }
      return {
        mediaType: d.mediaType,
        size: d.size,
        digest: d.digest,
        ...(d.urls !== undefined && d.urls.length > 0 ? { urls: d.urls } : {}),
        platform: {
          architecture: p.architecture,
          os: p.os,
          ...(p.osVersion ? { osVersion: p.osVersion } : {}),
          ...(p.osFeatures !== undefined && p.osFeatures.length > 0 ? { osFeatures: [...p.osFeatures] } : {}),
          ...(p.variant ? { variant: p.variant } : {}),
        },
      };
    }),
  };
}

function updateList(view: ListManifestView, edits: ManifestEdits): UpdatedManifest {
  if (edits.layerInfos !== undefined || edits.layerDiffIDs !== undefined) {
    throw new InternalError("layer edits were passed for a manifest list");
  }
  const target = targetOf(view, edits);
  if (!isListMIMEType(target)) {
    throw new UnsupportedManifestTypeError(`cannot convert a manifest list to ${target}, which is not a list type`);
  }
  const updates = edits.instances;
  if (updates !== undefined) checkInstanceUpdates(view, updates);
  const apply = <T extends { digest: Digest; size: number; mediaType: string }>(entries: T[]): T[] =>
    updates === undefined ? entries : entries.map((e, i) => ({ ...e, ...(updates[i] as InstanceUpdate) }));
  if (view.format.type === "oci-index") {
    const index: OCIIndex = { ...view.format.index, manifests: apply(view.format.index.manifests) };
    if (target === OCI_INDEX_MEDIA_TYPE) {
      if (goArray(index.manifests, encodeOCIDescriptor) === goArray(view.format.index.manifests, encodeOCIDescriptor)) return unchanged(view);
      return result(serializeOCIIndex(index), OCI_INDEX_MEDIA_TYPE, []);
    }
    return result(serializeSchema2List(listFromOCIIndex(index, edits.defaultPlatform)), DOCKER_LIST_MEDIA_TYPE, []);
  }
  const list: Schema2List = { ...view.format.list, manifests: apply(view.format.list.manifests) };
  if (target === DOCKER_LIST_MEDIA_TYPE) {
    const same = list.manifests.every((e, i) => {
      const o = (view.format as { list: Schema2List }).list.manifests[i] as Schema2ListEntry;
      return e.digest === o.digest && e.size === o.size && e.mediaType === o.mediaType;
    });
    if (same) return unchanged(view);
    return result(serializeSchema2List(list), DOCKER_LIST_MEDIA_TYPE, []);
  }
  return result(serializeOCIIndex(ociIndexFromList(list)), OCI_INDEX_MEDIA_TYPE, []);
}

// ---------------------------------------------------------------------------

/**
 * The one entry point for changing a manifest during a copy: applies layer
 * edits (new digests and sizes, compression changes), converts between
 * formats with the Go library's semantics, sets a schema 1 manifest's
 * embedded name and tag, and updates list instances.
 *
 * - A manifest that ends up unchanged keeps its original bytes
 *   (`changed: false`); a changed one is serialised deterministically, as
 *   the Go library writes it (schema 1 results are signed with a fresh
 *   ephemeral key, so only their digest is stable).
 * - `newBlobs` lists what the copy must store besides the layers: the
 *   converted config (schema 2 → OCI), the synthesised config (schema 1 →
 *   schema 2/OCI), the gzipped empty layer (→ schema 1).
 * - Schema 1 → schema 2/OCI needs `layerDiffIDs` (see
 *   {@link updateNeedsLayerDiffIDs}); schema 2 → OCI and → schema 1 need
 *   `configBytes` (see {@link updateNeedsConfig}).
 *
 * Errors: `NotAnImageError` when an OCI artifact would be converted to a
 * Docker format; {@link ManifestLayerCompressionIncompatibleError} when the
 * target format cannot carry a layer's compression (catch it to try another
 * format); `UnsupportedManifestTypeError` for impossible targets;
 * `UnsupportedError` for encryption changes; `InternalError` for edits that
 * do not fit the manifest (wrong counts, missing inputs).
 */
export async function updateManifest(original: ManifestView | RawManifest, edits: ManifestEdits = {}): Promise<UpdatedManifest> {
  const view = toView(original);
  if (view.kind === "list") return updateList(view, edits);
  if (edits.instances !== undefined) throw new InternalError("instance edits were passed for an image manifest");
  const target = targetOf(view, edits);
  if (!isImageMIMEType(target)) {
    throw new UnsupportedManifestTypeError(`cannot convert an image manifest to ${target}, which is a list type`);
  }
  checkLayerCount(view, edits.layerInfos, "layerInfos");
  switch (view.format.type) {
    case "oci":
      return updateOCI(view, view.format.manifest, target, edits);
    case "docker-schema2":
      return updateSchema2(view, view.format.manifest, target, edits);
    case "docker-schema1":
      return updateSchema1(view, view.format.manifest, target, edits);
  }
}

/**
 * Updates the digest, size and media type of every instance of a list (one
 * update per instance, in order), e.g. after the copy converted them.
 */
export async function updateInstances(list: ListManifestView | RawManifest, updates: readonly InstanceUpdate[], targetMIMEType?: string): Promise<UpdatedManifest> {
  return updateManifest(list, { instances: updates, ...(targetMIMEType !== undefined ? { targetMIMEType } : {}) });
}
