import zlib from "node:zlib";
import { Tuning, type ZlibTransform } from "./zlib-pipe.js";

/**
 * Options every engine gets. `highWaterMark` is passed on to the engine's
 * stream (Node's zlib classes forward their options to Transform), although
 * Node's type declarations do not list it.
 */
function base(): zlib.ZlibOptions {
  return { chunkSize: Tuning.outputChunk, highWaterMark: Tuning.readableHighWaterMark } as zlib.ZlibOptions;
}

/** A gzip compressor at `level`. */
export function gzipEngine(level: number): ZlibTransform {
  return zlib.createGzip({ ...base(), level }) as ZlibTransform;
}

/** A gzip decompressor (several members in a row are one stream). */
export function gunzipEngine(): ZlibTransform {
  return zlib.createGunzip(base()) as ZlibTransform;
}

/** A zstd compressor at `level`, writing content checksums as the zstd tool does. */
export function zstdCompressEngine(level: number): ZlibTransform {
  return zlib.createZstdCompress({
    ...(base() as zlib.ZstdOptions),
    params: { [zlib.constants.ZSTD_c_compressionLevel]: level, [zlib.constants.ZSTD_c_checksumFlag]: 1 },
  }) as ZlibTransform;
}

/** A zstd decompressor (it stops after one frame; the pipe starts another for the next). */
export function zstdDecompressEngine(): ZlibTransform {
  return zlib.createZstdDecompress(base() as zlib.ZstdOptions) as ZlibTransform;
}
