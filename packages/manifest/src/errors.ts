import { UnsupportedError } from "@stevedore/types";

/**
 * A layer's compression cannot be expressed in a manifest format (e.g. zstd
 * in Docker schema 2). The copy engine catches it to try the next manifest
 * format; it is an `UnsupportedError`.
 */
export class ManifestLayerCompressionIncompatibleError extends UnsupportedError {
  static override readonly code: string = "ERR_MANIFEST_LAYER_COMPRESSION_INCOMPATIBLE";
}
Object.defineProperty(ManifestLayerCompressionIncompatibleError, "name", { value: "ManifestLayerCompressionIncompatibleError" });
