export * from "./tools.js";
export * from "./registry.js";
export * from "./token-server.js";
export * from "./tls.js";
export * from "./conformance/api.js";
export * from "./conformance/blob-info-cache.js";
