/** Docker schema 1 media types. */

/** An unsigned Docker schema 1 manifest. */
export const DOCKER_SCHEMA1_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v1+json";
/** A signed Docker schema 1 manifest (JWS, libtrust's "pretty" serialisation). */
export const DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v1+prettyjws";
