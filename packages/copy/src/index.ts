export { copyImage, DEFAULT_PARALLEL_BLOBS } from "./copy.js";
export type { CopyOptions, CopyResult, ImageListSelection, PolicyContext, Signer } from "./options.js";
export { runtimePlatform } from "./internal/platform.js";
export { chooseManifestTypes, type ManifestCandidates } from "./internal/manifest-choice.js";
