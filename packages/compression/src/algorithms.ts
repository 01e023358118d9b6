import {
  UNCOMPRESSED,
  UNKNOWN_COMPRESSION,
  UnsupportedError,
  type CompressionAlgorithmName,
  type CompressorName,
} from "@stevedore/types";

/** The algorithm names that name a distinct byte format (`zstd:chunked` is a kind of `zstd`). */
export type BaseCompressionAlgorithmName = "gzip" | "zstd" | "bzip2" | "xz";

/** The algorithms {@link compressStream} can produce. */
export type CompressibleAlgorithmName = "gzip" | "zstd";

/**
 * What Stevedore knows about one compression algorithm: its name as manifests,
 * options and the blob-info cache spell it, the byte format it is a variant
 * of, the magic bytes that start its streams and what this package can do
 * with it.
 */
export interface CompressionAlgorithm {
  /** The name, e.g. `gzip` or `zstd:chunked`. */
  readonly name: CompressionAlgorithmName;
  /**
   * The byte format: equal to `name` except for `zstd:chunked`, whose blobs
   * are ordinary zstd streams (several frames plus a table of contents).
   */
  readonly baseVariantName: BaseCompressionAlgorithmName;
  /** The bytes every stream of this format starts with. */
  readonly magic: Uint8Array;
  /** Whether {@link compressStream} supports it. */
  readonly canCompress: boolean;
  /** Whether {@link decompressStream} supports it (all known algorithms do). */
  readonly canDecompress: boolean;
  /** The level used when none is given, for algorithms that can compress. */
  readonly defaultLevel?: number;
  /** The smallest accepted level, for algorithms that can compress. */
  readonly minLevel?: number;
  /** The largest accepted level, for algorithms that can compress. */
  readonly maxLevel?: number;
}

function algorithm(a: CompressionAlgorithm): CompressionAlgorithm {
  return Object.freeze(a);
}

const GZIP_MAGIC = Uint8Array.of(0x1f, 0x8b, 0x08);
const ZSTD_MAGIC = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd);
const BZIP2_MAGIC = Uint8Array.of(0x42, 0x5a, 0x68);
const XZ_MAGIC = Uint8Array.of(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00);

/** gzip (RFC 1952), compressed and decompressed with Node's zlib. Levels 0 (store) to 9; default 6. */
export const Gzip: CompressionAlgorithm = algorithm({
  name: "gzip",
  baseVariantName: "gzip",
  magic: GZIP_MAGIC,
  canCompress: true,
  canDecompress: true,
  defaultLevel: 6,
  minLevel: 0,
  maxLevel: 9,
});

/** Zstandard (RFC 8878), compressed and decompressed with Node's built-in zstd. Levels 1 to 22; default 3. */
export const Zstd: CompressionAlgorithm = algorithm({
  name: "zstd",
  baseVariantName: "zstd",
  magic: ZSTD_MAGIC,
  canCompress: true,
  canDecompress: true,
  defaultLevel: 3,
  minLevel: 1,
  maxLevel: 22,
});

/**
 * zstd:chunked: a zstd stream made of many frames plus a table of contents,
 * for partial pulls. It decompresses as zstd; producing it is not supported.
 */
export const ZstdChunked: CompressionAlgorithm = algorithm({
  name: "zstd:chunked",
  baseVariantName: "zstd",
  magic: ZSTD_MAGIC,
  canCompress: false,
  canDecompress: true,
});

/** bzip2: decompression only (as in the Go library). */
export const Bzip2: CompressionAlgorithm = algorithm({
  name: "bzip2",
  baseVariantName: "bzip2",
  magic: BZIP2_MAGIC,
  canCompress: false,
  canDecompress: true,
});

/** xz: decompression only (no streaming xz encoder exists without a native build). */
export const Xz: CompressionAlgorithm = algorithm({
  name: "xz",
  baseVariantName: "xz",
  magic: XZ_MAGIC,
  canCompress: false,
  canDecompress: true,
});

/** Every algorithm Stevedore knows, by name. */
export const CompressionAlgorithms: Readonly<Record<CompressionAlgorithmName, CompressionAlgorithm>> = Object.freeze({
  gzip: Gzip,
  zstd: Zstd,
  "zstd:chunked": ZstdChunked,
  bzip2: Bzip2,
  xz: Xz,
});

/** The algorithm names, in the order detection tries their magic bytes. */
export const COMPRESSION_ALGORITHM_NAMES: readonly CompressionAlgorithmName[] = Object.freeze([
  "gzip",
  "zstd",
  "zstd:chunked",
  "bzip2",
  "xz",
]);

/**
 * Names other tools use for an algorithm: the Go library spells xz `Xz`
 * (and records it so in its blob-info cache).
 */
const ALIASES: Readonly<Record<string, CompressionAlgorithmName>> = Object.freeze({ Xz: "xz" });

/** Whether `name` is one of the algorithm names Stevedore knows (exact spelling). */
export function isCompressionAlgorithmName(name: unknown): name is CompressionAlgorithmName {
  return typeof name === "string" && Object.hasOwn(CompressionAlgorithms, name);
}

/**
 * The algorithm called `name` (`gzip`, `zstd`, `zstd:chunked`, `bzip2`, `xz`;
 * the Go library's `Xz` is accepted too). Throws {@link UnsupportedError}
 * listing the known names for anything else.
 */
export function compressionAlgorithmFromName(name: string): CompressionAlgorithm {
  const canonical = isCompressionAlgorithmName(name) ? name : ALIASES[name];
  if (canonical === undefined) {
    throw new UnsupportedError(
      `compression algorithm ${JSON.stringify(name)} is not supported; known algorithms: ${COMPRESSION_ALGORITHM_NAMES.join(", ")}`,
    );
  }
  return CompressionAlgorithms[canonical];
}

/**
 * The compressor names the blob-info cache records: one per algorithm plus
 * `uncompressed` (and `unknown`, which means "forget what was recorded").
 */
export const COMPRESSOR_NAMES: readonly CompressorName[] = Object.freeze([
  ...COMPRESSION_ALGORITHM_NAMES,
  UNCOMPRESSED,
]);

/**
 * The blob-info cache's compressor name for a blob compressed with
 * `algorithm`, or `uncompressed` when `algorithm` is undefined or null.
 */
export function compressorNameOf(algorithm: CompressionAlgorithmName | CompressionAlgorithm | undefined | null): CompressorName {
  if (algorithm === undefined || algorithm === null) return UNCOMPRESSED;
  return typeof algorithm === "string" ? compressionAlgorithmFromName(algorithm).name : algorithm.name;
}

/**
 * Reads a compressor name from the blob-info cache: the algorithm it names,
 * `uncompressed`, or `unknown` for `unknown` and any name this version does not
 * know (a newer writer may record algorithms an older reader cannot use).
 */
export function compressionFromCompressorName(name: CompressorName): CompressionAlgorithmName | "uncompressed" | "unknown" {
  if (name === UNCOMPRESSED) return "uncompressed";
  if (name === UNKNOWN_COMPRESSION) return "unknown";
  if (isCompressionAlgorithmName(name)) return name;
  return ALIASES[name] ?? "unknown";
}
