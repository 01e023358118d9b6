export * from "./errors.js";
export * from "./keys.js";
export * from "./paths.js";
export * from "./credentials.js";
export * from "./write.js";
