export { ociTransport, OCIReference, parseOCIReference, newOCIReference, newOCIIndexReference } from "./transport.js";
