export { dirTransport, DirReference, newDirReference } from "./transport.js";
export { NotImageDirectoryError } from "./errors.js";
export { DIRECTORY_TRANSPORT_VERSION } from "./internal/layout.js";
export { MAX_DIR_SIGNATURES } from "./source.js";
