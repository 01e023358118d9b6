export { ociArchiveTransport, OCIArchiveReference, parseOCIArchiveReference, newOCIArchiveReference } from "./transport.js";
export { ArchiveLayoutStore, DECOMPRESSED_TEMP_PREFIX } from "./archive-store.js";
export { OCIArchiveDestination, openArchiveDestination, LAYOUT_TEMP_PREFIX, type ArchiveDestinationOptions } from "./destination.js";
