export * from "./sqlite-cache.js";
export * from "./default.js";
