export * from "./media-types.js";
export * from "./jws.js";
export * from "./schema1.js";
