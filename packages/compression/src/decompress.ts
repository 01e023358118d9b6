import { throwIfAborted, type BlobStream, type CompressionAlgorithmName } from "@stevedore/types";
import { compressionAlgorithmFromName, type BaseCompressionAlgorithmName } from "./algorithms.js";
import { detectCompression } from "./detect.js";
import { decompressBzip2 } from "./internal/bzip2.js";
import { decompressXz } from "./internal/xz.js";
import { gunzipEngine, zstdDecompressEngine } from "./internal/engines.js";
import { pipeThroughZlib } from "./internal/zlib-pipe.js";

/** Options of {@link decompressStream} and {@link autoDecompress}. */
export interface DecompressOptions {
  /** Aborting it stops the work, destroys the engine and makes the stream throw AbortError. */
  signal?: AbortSignal | undefined;
}

/**
 * Decompresses `stream`, compressed with `algorithm` (`zstd:chunked` is read
 * as zstd), and returns the decompressed stream. Concatenated streams (gzip
 * members, zstd frames, bzip2 and xz streams) decompress as one.
 *
 * Nothing happens until the result is read; it pulls from `stream` only as
 * its consumer reads and holds a bounded amount of data whatever the length.
 * Corrupt or truncated input, and bytes after the end that are not another
 * stream, make it throw {@link InvalidCompressedDataError} naming the
 * algorithm; errors of `stream` itself come through unchanged.
 */
export function decompressStream(stream: BlobStream, algorithm: CompressionAlgorithmName, options: DecompressOptions = {}): BlobStream {
  const alg = compressionAlgorithmFromName(algorithm);
  const { signal } = options;
  switch (alg.baseVariantName) {
    case "gzip":
      return pipeThroughZlib(stream, {
        algorithm: alg.name,
        decompress: true,
        create: gunzipEngine,
        signal,
      });
    case "zstd":
      return pipeThroughZlib(stream, {
        algorithm: alg.name,
        decompress: true,
        create: zstdDecompressEngine,
        signal,
      });
    case "bzip2":
      return decompressBzip2(stream, signal);
    case "xz":
      return decompressXz(stream, signal);
  }
}

/** What {@link autoDecompress} returns. */
export interface AutoDecompressed {
  /** The compression that was found and undone, or undefined when the stream was passed through as it is. */
  algorithm: BaseCompressionAlgorithmName | undefined;
  /** The decompressed stream, or the original bytes (all of them) when no compression was detected. */
  stream: BlobStream;
}

/**
 * Detects the compression of `stream` by its magic bytes and returns a
 * stream of its decompressed content; data that starts with no known magic
 * passes through unchanged (every byte of it).
 */
export async function autoDecompress(stream: BlobStream, options: DecompressOptions = {}): Promise<AutoDecompressed> {
  throwIfAborted(options.signal);
  const detected = await detectCompression(stream, options);
  if (detected.algorithm === undefined) return { algorithm: undefined, stream: detected.stream };
  return { algorithm: detected.algorithm, stream: decompressStream(detected.stream, detected.algorithm, options) };
}
