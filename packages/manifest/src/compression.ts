import {
  DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_MEDIA_TYPE,
  DOCKER_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_LAYER_MEDIA_TYPE,
  DOCKER_LAYER_ZSTD_MEDIA_TYPE,
} from "@stevedore/manifest-docker";
import {
  OCI_ENCRYPTED_SUFFIX,
  OCI_LAYER_GZIP_MEDIA_TYPE,
  OCI_LAYER_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE,
  OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE,
  OCI_LAYER_ZSTD_MEDIA_TYPE,
} from "@stevedore/manifest-oci";
import { UnsupportedError, type BlobInfo, type CompressionAlgorithmName } from "@stevedore/types";
import { ManifestLayerCompressionIncompatibleError } from "./errors.js";

/** What a layer's media type says about its compression ("unknown" when it says nothing). */
export type LayerCompression = "uncompressed" | "gzip" | "zstd" | "zstd:chunked" | "unknown";

/** The formats whose layer media types carry compression. */
export type LayerMediaTypeFormat = "oci" | "docker-schema2";

/** The annotation marking a zstd:chunked layer (its table of contents). */
export const ZSTD_CHUNKED_MANIFEST_CHECKSUM_ANNOTATION = "io.github.containers.zstd-chunked.manifest-checksum";
/** The annotation locating a zstd:chunked layer's table of contents. */
export const ZSTD_CHUNKED_MANIFEST_POSITION_ANNOTATION = "io.github.containers.zstd-chunked.manifest-position";

type VariantKey = "uncompressed" | "gzip" | "zstd";
type VariantSet = Readonly<Record<VariantKey, string | null>>; // null: recognised but not supported

const OCI_SETS: readonly VariantSet[] = [
  { uncompressed: OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE, gzip: OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE, zstd: OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE },
  { uncompressed: OCI_LAYER_MEDIA_TYPE, gzip: OCI_LAYER_GZIP_MEDIA_TYPE, zstd: OCI_LAYER_ZSTD_MEDIA_TYPE },
];
const DOCKER_SETS: readonly VariantSet[] = [
  { uncompressed: DOCKER_FOREIGN_LAYER_MEDIA_TYPE, gzip: DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE, zstd: null },
  { uncompressed: DOCKER_LAYER_MEDIA_TYPE, gzip: DOCKER_LAYER_GZIP_MEDIA_TYPE, zstd: null },
];

function findSet(format: LayerMediaTypeFormat, mediaType: string): VariantSet | undefined {
  if (format === "docker-schema2" && mediaType === DOCKER_LAYER_ZSTD_MEDIA_TYPE) return DOCKER_SETS[1];
  const sets = format === "oci" ? OCI_SETS : DOCKER_SETS;
  return sets.find((s) => Object.values(s).includes(mediaType));
}

function variantKey(algorithm: CompressionAlgorithmName | undefined): VariantKey | string {
  if (algorithm === undefined) return "uncompressed";
  return algorithm === "zstd:chunked" ? "zstd" : algorithm;
}

const FORMAT_NAMES: Readonly<Record<LayerMediaTypeFormat, string>> = { oci: "OCI", "docker-schema2": "Docker schema 2" };

function variant(format: LayerMediaTypeFormat, mediaType: string, algorithm: CompressionAlgorithmName | undefined, what: string): string {
  const set = findSet(format, mediaType);
  if (set === undefined) {
    throw new UnsupportedError(
      `${what}: cannot ${algorithm === undefined ? "decompress" : `compress with ${algorithm}`}: unsupported layer media type "${mediaType}"`,
    );
  }
  const key = variantKey(algorithm);
  const result = (set as Record<string, string | null | undefined>)[key];
  if (result === undefined || result === null) {
    throw new ManifestLayerCompressionIncompatibleError(
      key === "uncompressed"
        ? `${what}: an uncompressed variant of "${mediaType}" does not exist in ${FORMAT_NAMES[format]} manifests`
        : `${what}: ${algorithm} compression is not supported for layers of type "${mediaType}" in ${FORMAT_NAMES[format]} manifests`,
    );
  }
  return result;
}

/**
 * The media type a layer gets after a copy changed its compression, as the
 * Go library's `updatedMIMEType`: `preserve` keeps the type unless an
 * algorithm is named (then that algorithm's variant), `decompress` gives the
 * uncompressed variant, `compress` the named algorithm's variant (no
 * algorithm: unchanged). Distributable and non-distributable (foreign)
 * layers keep their kind. Throws {@link ManifestLayerCompressionIncompatibleError}
 * when the format has no such variant (zstd in Docker schema 2), and
 * `UnsupportedError` for media types without variants (artifacts,
 * encrypted layers) and for encryption changes.
 */
export function updatedLayerMediaType(
  format: LayerMediaTypeFormat,
  mediaType: string,
  info: Pick<BlobInfo, "compressionOperation" | "compressionAlgorithm" | "cryptoOperation" | "digest">,
): string {
  const what = `layer ${info.digest ?? "(digest unknown)"}`;
  if (info.cryptoOperation !== undefined && info.cryptoOperation !== "preserve") {
    throw new UnsupportedError(`${what}: layer encryption and decryption are not supported`);
  }
  switch (info.compressionOperation ?? "preserve") {
    case "preserve":
      return info.compressionAlgorithm === undefined ? mediaType : variant(format, mediaType, info.compressionAlgorithm, what);
    case "decompress":
      return variant(format, mediaType, undefined, what);
    case "compress":
      return info.compressionAlgorithm === undefined ? mediaType : variant(format, mediaType, info.compressionAlgorithm, what);
  }
}

/**
 * Whether a layer with `mediaType` can be compressed or decompressed in
 * `format` (its media type has variants); artifacts' layers and encrypted
 * layers cannot.
 */
export function canChangeLayerCompression(format: LayerMediaTypeFormat, mediaType: string): boolean {
  return findSet(format, mediaType) !== undefined;
}

/**
 * Whether `format` can carry layers compressed with `algorithm`: gzip
 * everywhere, zstd (and zstd:chunked) only in OCI manifests, nothing else.
 */
export function formatSupportsCompression(format: LayerMediaTypeFormat | "docker-schema1", algorithm: CompressionAlgorithmName): boolean {
  if (algorithm === "gzip") return true;
  if (algorithm === "zstd" || algorithm === "zstd:chunked") return format === "oci";
  return false;
}

/** What a layer media type (and, for zstd:chunked, its annotations) says about compression and encryption. */
export function layerCompressionOf(
  mediaType: string,
  annotations?: Readonly<Record<string, string>>,
): { compression: LayerCompression; encrypted: boolean; nonDistributable: boolean } {
  let mt = mediaType;
  const encrypted = mt.endsWith(OCI_ENCRYPTED_SUFFIX);
  if (encrypted) mt = mt.slice(0, -OCI_ENCRYPTED_SUFFIX.length);
  const nonDistributable = mt.startsWith("application/vnd.oci.image.layer.nondistributable.") || mt.startsWith("application/vnd.docker.image.rootfs.foreign.");
  let compression: LayerCompression = "unknown";
  switch (mt) {
    case OCI_LAYER_MEDIA_TYPE:
    case OCI_LAYER_NONDISTRIBUTABLE_MEDIA_TYPE:
    case DOCKER_LAYER_MEDIA_TYPE:
    case DOCKER_FOREIGN_LAYER_MEDIA_TYPE:
      compression = "uncompressed";
      break;
    case OCI_LAYER_GZIP_MEDIA_TYPE:
    case OCI_LAYER_NONDISTRIBUTABLE_GZIP_MEDIA_TYPE:
    case DOCKER_LAYER_GZIP_MEDIA_TYPE:
    case DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE:
      compression = "gzip";
      break;
    case OCI_LAYER_ZSTD_MEDIA_TYPE:
    case OCI_LAYER_NONDISTRIBUTABLE_ZSTD_MEDIA_TYPE:
    case DOCKER_LAYER_ZSTD_MEDIA_TYPE:
      compression = annotations?.[ZSTD_CHUNKED_MANIFEST_CHECKSUM_ANNOTATION] !== undefined ? "zstd:chunked" : "zstd";
      break;
  }
  return { compression, encrypted, nonDistributable };
}
