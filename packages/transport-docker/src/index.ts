export * from "./transport.js";
export * from "./options.js";
export { DockerImageReference, dockerReferenceNamespaces } from "./reference.js";
export { DockerImageSource } from "./source.js";
export { DockerImageDestination, SIGNATURES_UNSUPPORTED_REASON } from "./destination.js";
export { listTags, listRepositories, getManifestDigest, deleteImage, checkAuth, MAX_LIST_PAGE_BYTES, type ListOptions } from "./operations.js";
