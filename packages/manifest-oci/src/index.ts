export * from "./media-types.js";
export * from "./json.js";
export * from "./descriptor.js";
export * from "./manifest.js";
export * from "./image-index.js";
export * from "./go-codec.js";
