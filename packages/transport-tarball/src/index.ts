export { tarballTransport, TarballReference, newTarballReference } from "./transport.js";
export { TARBALL_HISTORY_COMMENT } from "./source.js";
