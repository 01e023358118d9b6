import type { ImageTransport } from "@stevedore/types";

/** A loader of a transport module, imported only when its name is used. */
type Loader = () => Promise<ImageTransport>;

/** The built-in transports, by name. */
export const BUILTIN_TRANSPORTS: Readonly<Record<string, Loader>> = Object.freeze({
  docker: async () => (await import("@stevedore/transport-docker")).dockerTransport,
  oci: async () => (await import("@stevedore/transport-oci")).ociTransport,
  "oci-archive": async () => (await import("@stevedore/transport-oci-archive")).ociArchiveTransport,
  dir: async () => (await import("@stevedore/transport-dir")).dirTransport,
  "docker-archive": async () => (await import("@stevedore/transport-docker-archive")).dockerArchiveTransport,
  tarball: async () => (await import("@stevedore/transport-tarball")).tarballTransport,
});

/**
 * Transports of containers/image that Stevedore does not implement (yet);
 * naming one gives an error that says so instead of "unknown transport".
 */
export const UNSUPPORTED_TRANSPORTS: Readonly<Record<string, string>> = Object.freeze({
  "containers-storage": "the containers-storage transport (podman's and buildah's local storage) is not supported by Stevedore yet",
  "docker-daemon": "the docker-daemon transport is not supported by Stevedore yet; use docker-archive: with `docker save`/`docker load`",
  ostree: "the ostree transport is not supported by Stevedore",
  sif: "the sif transport (Singularity images) is not supported by Stevedore",
  atomic: "the atomic transport (OpenShift) is deprecated and not supported by Stevedore",
});
