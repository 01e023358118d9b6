export * from "./reference.js";
export * from "./layout-index.js";
export * from "./store.js";
export * from "./source.js";
export * from "./destination.js";
export * from "./delete.js";
export * from "./lock.js";
export { removeStaleTemporaries, temporaryName, fsyncDirectory } from "./internal/fs.js";
