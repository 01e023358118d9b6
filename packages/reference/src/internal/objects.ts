import type { Digest } from "@stevedore/types";
import type { DigestReference, Named } from "../types.js";

class NamedReference implements Named {
  declare readonly name: string;
  declare readonly domain: string;
  declare readonly path: string;
  declare readonly tag?: string;
  declare readonly digest?: Digest;

  constructor(domain: string, path: string, tag?: string, digest?: Digest) {
    const self = this as { -readonly [K in keyof NamedReference]: NamedReference[K] };
    self.name = domain === "" ? path : `${domain}/${path}`;
    self.domain = domain;
    self.path = path;
    if (tag !== undefined && tag !== "") self.tag = tag;
    if (digest !== undefined) self.digest = digest;
    Object.freeze(this);
  }

  /** The canonical form `name[:tag][@digest]`. */
  toString(): string {
    let s = this.name;
    if (this.tag !== undefined) s += ":" + this.tag;
    if (this.digest !== undefined) s += "@" + this.digest;
    return s;
  }

  /** JSON serialises a reference as its canonical text. */
  toJSON(): string {
    return this.toString();
  }
}

class DigestOnlyReference implements DigestReference {
  declare readonly digest: Digest;

  constructor(digest: Digest) {
    (this as { digest: Digest }).digest = digest;
    Object.freeze(this);
  }

  /** The digest, `algorithm:hex`. */
  toString(): string {
    return this.digest;
  }

  /** JSON serialises a digest reference as the digest. */
  toJSON(): string {
    return this.digest;
  }
}

/** Creates a named reference from already validated parts. */
export function makeNamed(domain: string, path: string, tag?: string, digest?: Digest): Named {
  return new NamedReference(domain, path, tag, digest);
}

/** Creates a digest-only reference from a validated digest. */
export function makeDigestReference(digest: Digest): DigestReference {
  return new DigestOnlyReference(digest);
}

