import { UnsupportedError, type BlobStream, type CompressionAlgorithmName } from "@stevedore/types";
import { compressionAlgorithmFromName } from "./algorithms.js";
import { gzipEngine, zstdCompressEngine } from "./internal/engines.js";
import { pipeThroughZlib } from "./internal/zlib-pipe.js";

/** Options of {@link compressStream}. */
export interface CompressOptions {
  /**
   * The compression level: gzip 0 (store) to 9, default 6; zstd 1 to 22,
   * default 3. Out-of-range levels throw {@link UnsupportedError}.
   */
  level?: number | undefined;
  /** Aborting it stops the work, destroys the engine and makes the stream throw AbortError. */
  signal?: AbortSignal | undefined;
}

/**
 * Compresses `stream` with gzip or zstd and returns the compressed stream.
 * Nothing happens until the result is read; it pulls from `stream` only as
 * its consumer reads, and holds a bounded amount of data whatever the
 * length (a few MiB of buffers plus the algorithm's window). Other algorithms (`bzip2`, `xz`, `zstd:chunked`)
 * throw {@link UnsupportedError} at once, as does an out-of-range level.
 */
export function compressStream(stream: BlobStream, algorithm: CompressionAlgorithmName, options: CompressOptions = {}): BlobStream {
  const alg = compressionAlgorithmFromName(algorithm);
  if (!alg.canCompress) {
    throw new UnsupportedError(
      `compressing with ${alg.name} is not supported (Stevedore compresses with gzip and zstd; it can decompress ${alg.name})`,
    );
  }
  const level = options.level ?? alg.defaultLevel!;
  if (!Number.isInteger(level) || level < alg.minLevel! || level > alg.maxLevel!) {
    throw new UnsupportedError(
      `${alg.name} compression level ${String(level)} is not supported (use an integer from ${alg.minLevel} to ${alg.maxLevel})`,
    );
  }
  const create = alg.name === "gzip" ? () => gzipEngine(level) : () => zstdCompressEngine(level);
  return pipeThroughZlib(stream, { algorithm: alg.name, decompress: false, create, signal: options.signal });
}
