export * from "./types.js";
export * from "./constants.js";
export * from "./regexp.js";
export * from "./reference.js";
export * from "./normalize.js";
export * from "./helpers.js";
export * from "./match.js";
