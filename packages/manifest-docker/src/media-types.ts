/** Docker distribution media types. */

/** A Docker schema 2 image manifest. */
export const DOCKER_SCHEMA2_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json";
/** A Docker manifest list (schema 2). */
export const DOCKER_LIST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.list.v2+json";
/** A Docker image configuration. */
export const DOCKER_CONFIG_MEDIA_TYPE = "application/vnd.docker.container.image.v1+json";
/** A gzip-compressed layer. */
export const DOCKER_LAYER_GZIP_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/** An uncompressed layer. */
export const DOCKER_LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar";
/**
 * A zstd-compressed layer. Not part of Docker's specification; written by
 * some tools and read by the Go library, never produced by Stevedore.
 */
export const DOCKER_LAYER_ZSTD_MEDIA_TYPE = "application/vnd.docker.image.rootfs.diff.tar.zstd";
/** An uncompressed foreign layer (fetched from its `urls`, e.g. Windows base layers). */
export const DOCKER_FOREIGN_LAYER_MEDIA_TYPE = "application/vnd.docker.image.rootfs.foreign.diff.tar";
/** A gzip-compressed foreign layer. */
export const DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/** A seccomp profile config used by some artifacts in Docker manifests. */
export const CNCF_SECCOMP_PROFILE_CONFIG_MEDIA_TYPE = "application/vnd.cncf.seccomp-profile.config.v1+json";

/** The layer media types a Docker schema 2 manifest may use. */
export const DOCKER_SCHEMA2_LAYER_MEDIA_TYPES: readonly string[] = Object.freeze([
  DOCKER_LAYER_GZIP_MEDIA_TYPE,
  DOCKER_LAYER_MEDIA_TYPE,
  DOCKER_LAYER_ZSTD_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_MEDIA_TYPE,
  DOCKER_FOREIGN_LAYER_GZIP_MEDIA_TYPE,
]);
