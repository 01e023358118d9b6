export * from "./types.js";
export * from "./errors.js";
export * from "./parse.js";
export * from "./merge.js";
export * from "./lookup.js";
export * from "./shortnames.js";
