/**
 * The defaults of Docker Hub naming.
 *
 * @module
 */

/** The legacy domain of Docker Hub; normalised to {@link defaultDomain}. */
export const legacyDefaultDomain = "index.docker.io";

/** The domain of Docker Hub, used when a name has none. */
export const defaultDomain = "docker.io";

/** The namespace of official images on Docker Hub, added to one-component names there. */
export const officialRepoPrefix = "library/";

/** The tag used when a reference has neither tag nor digest. */
export const defaultTag = "latest";
