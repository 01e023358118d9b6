import type { Digest } from "@stevedore/types";

/**
 * A gzip-compressed empty tar archive (1024 zero bytes), exactly the bytes
 * docker/distribution and the Go library use for schema 1 layers that carry
 * no filesystem change (with the same embedded timestamp, so that registries
 * already have it).
 */
export const GZIPPED_EMPTY_LAYER: Uint8Array = Uint8Array.from([
  31, 139, 8, 0, 0, 9, 110, 136, 0, 255, 98, 24, 5, 163, 96, 20, 140, 88, 0, 8, 0, 0, 255, 255, 46, 175, 181, 239, 0, 4, 0, 0,
]);

/** The digest of {@link GZIPPED_EMPTY_LAYER}. */
export const GZIPPED_EMPTY_LAYER_DIGEST = "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4" as Digest;
