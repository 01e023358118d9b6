import { InvalidArchiveError, type CompressionAlgorithmName, type StevedoreErrorOptions } from "@stevedore/types";

/**
 * Compressed data could not be decompressed: it is corrupt, truncated, or
 * followed by bytes that are not another stream of the same format. The
 * message names the algorithm; `instanceof InvalidArchiveError` holds.
 */
export class InvalidCompressedDataError extends InvalidArchiveError {
  static override readonly code: string = "ERR_INVALID_COMPRESSED_DATA";

  /** The algorithm whose data was invalid. */
  readonly algorithm: CompressionAlgorithmName;

  constructor(algorithm: CompressionAlgorithmName, problem: string, options?: StevedoreErrorOptions) {
    super(`invalid ${algorithm} data: ${problem}`, options);
    this.algorithm = algorithm;
  }
}
