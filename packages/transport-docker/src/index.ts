export * from "./transport.js";
export * from "./options.js";
export { DockerImageReference, dockerReferenceNamespaces } from "./reference.js";
export { DockerImageSource } from "./source.js";
export { DockerImageDestination } from "./destination.js";
export { listTags, listRepositories, getManifestDigest, deleteImage, checkAuth, MAX_LIST_PAGE_BYTES, type ListOptions } from "./operations.js";
export * from "./registries-d.js";
export { MAX_LOOKASIDE_SIGNATURES } from "./internal/lookaside.js";
