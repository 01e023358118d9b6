export * from "./none.js";
