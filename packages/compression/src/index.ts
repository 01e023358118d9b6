export {
  Bzip2,
  COMPRESSION_ALGORITHM_NAMES,
  COMPRESSOR_NAMES,
  CompressionAlgorithms,
  Gzip,
  Xz,
  Zstd,
  ZstdChunked,
  compressionAlgorithmFromName,
  compressionFromCompressorName,
  compressorNameOf,
  isCompressionAlgorithmName,
  type BaseCompressionAlgorithmName,
  type CompressibleAlgorithmName,
  type CompressionAlgorithm,
} from "./algorithms.js";
export { MAX_MAGIC_LENGTH, detectCompression, detectCompressionBytes, type DetectedCompression } from "./detect.js";
export { compressStream, type CompressOptions } from "./compress.js";
export { autoDecompress, decompressStream, type AutoDecompressed, type DecompressOptions } from "./decompress.js";
export { InvalidCompressedDataError } from "./errors.js";
