export * from "./memory.js";
export * from "./lookup.js";
