/**
 * The shapes of parsed references.
 *
 * @module
 */

import type { Digest, DockerReference } from "@stevedore/types";

/** A reference with a repository name: `domain/path[:tag][@digest]` (Go: `Named`). */
export interface Named extends DockerReference {
  /** The registry host and optional port, e.g. `docker.io`, `localhost:5000`, `[::1]:5000`; "" when the name has none. */
  readonly domain: string;
  /** The repository path within the registry, e.g. `library/busybox`. */
  readonly path: string;
}

/** Any reference with a tag (Go: `Tagged`). */
export interface Tagged {
  /** The tag. */
  readonly tag: string;
  /** The canonical text of the reference. */
  toString(): string;
}

/** Any reference with a digest (Go: `Digested`). */
export interface Digested {
  /** The digest. */
  readonly digest: Digest;
  /** The canonical text of the reference. */
  toString(): string;
}

/** A named reference with a tag (Go: `NamedTagged`). */
export type NamedTagged = Named & { readonly tag: string };

/** A named reference with a digest (Go: `Canonical`). */
export type Canonical = Named & { readonly digest: Digest };

/** A reference that is only a digest, e.g. from `parseAnyReference("sha256:…")` (Go: `digestReference`). */
export interface DigestReference extends Digested {
  /** A digest reference has no repository name. */
  readonly name?: undefined;
  /** A digest reference has no tag. */
  readonly tag?: undefined;
  /** The digest itself, `algorithm:hex`. */
  toString(): string;
}

/** Any parsed reference: a named one or a bare digest (Go: `Reference`). */
export type Reference = Named | DigestReference;

