export * from "./media-types.js";
export * from "./schema2.js";
export * from "./list.js";
