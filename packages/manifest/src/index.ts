export * from "./mime.js";
export * from "./errors.js";
export * from "./compression.js";
export * from "./view.js";
export * from "./platform.js";
export * from "./empty-layer.js";
export * from "./convert.js";
export * from "./inspect.js";
export { ociConfigFromDockerConfig, schema2ConfigFromSchema1 } from "./config.js";
