/**
 * Normalisation of familiar names (`busybox` → `docker.io/library/busybox`)
 * and the parsers built on it: `parseNormalizedNamed`, `parseNamed`,
 * `parseDockerRef`, `parseAnyReference`.
 *
 * @module
 */

import { isDigest, type Digest } from "@stevedore/types";
import { goToLower, invalid, requireString, Rule } from "./internal/errors.js";
import { makeDigestReference, makeNamed } from "./internal/objects.js";
import { localhost, matchers } from "./internal/patterns.js";
import { parseReference } from "./internal/parse.js";
import { isDigested, isTagged } from "./reference.js";
import type { Canonical, Named, NamedTagged, Reference } from "./types.js";
import { defaultDomain, legacyDefaultDomain, officialRepoPrefix } from "./constants.js";
import { tagNameOnly } from "./helpers.js";

/**
 * Splits a familiar name into domain and remainder the way the docker CLI
 * does (Go: `splitDockerDomain`). The text before the first `/` is a domain
 * when it is `localhost`, contains `.` or `:`, or has uppercase letters;
 * otherwise the domain is `docker.io`. `index.docker.io` becomes
 * `docker.io`, and a one-component name on `docker.io` gets `library/`.
 * A single component is always a name on Docker Hub, so `localhost:5000`
 * is `docker.io/library/localhost` with tag `5000`. The remainder may still
 * carry a tag and digest; nothing is validated.
 */
export function splitDockerDomain(name: string): [domain: string, remainder: string] {
  requireString(name);
  const slash = name.indexOf("/");
  if (slash < 0) return [defaultDomain, officialRepoPrefix + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let dom: string;
  let remote: string;
  if (maybeDomain === localhost) {
    [dom, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === legacyDefaultDomain) {
    [dom, remote] = [defaultDomain, maybeRemote];
  } else if (maybeDomain.includes(".") || maybeDomain.includes(":")) {
    [dom, remote] = [maybeDomain, maybeRemote];
  } else if (goToLower(maybeDomain) !== maybeDomain) {
    [dom, remote] = [maybeDomain, maybeRemote];
  } else {
    [dom, remote] = [defaultDomain, name];
  }
  if (dom === defaultDomain && !remote.includes("/")) remote = officialRepoPrefix + remote;
  return [dom, remote];
}

/**
 * Parses a name as the docker CLI understands it and returns it fully
 * qualified (Go: `ParseNormalizedNamed`): `busybox` → `docker.io/library/busybox`,
 * `index.docker.io/x/y:1` → `docker.io/x/y:1`. A bare 64-hex string is
 * rejected ("cannot specify 64-byte hexadecimal strings"); use
 * {@link parseAnyReference} when the input may be an image ID. Uppercase
 * letters in the repository name are rejected with "repository name must be
 * lowercase". A tag and a digest may both be present.
 */
export function parseNormalizedNamed(s: string): Named {
  requireString(s);
  if (matchers.anchoredIdentifier.test(s)) {
    throw invalid(s, `invalid repository name, ${Rule.hexIdentifier}`);
  }
  const [dom, remainder] = splitDockerDomain(s);
  const colon = remainder.indexOf(":");
  const remote = colon < 0 ? remainder : remainder.slice(0, colon);
  if (goToLower(remote) !== remote) throw invalid(s, Rule.uppercase);
  return parseReference(`${dom}/${remainder}`, s);
}

/**
 * Parses a reference that must already be canonical (Go: `ParseNamed`):
 * `docker.io/library/busybox:1` is accepted, `busybox:1` is an error
 * "repository name must be canonical" that names the canonical form.
 */
export function parseNamed(s: string): Named {
  const named = parseNormalizedNamed(s);
  const canonical = named.toString();
  if (canonical !== s) throw invalid(s, `${Rule.notCanonical} (the canonical form is ${JSON.stringify(canonical)})`);
  return named;
}

/**
 * Parses a reference the way `docker pull` does (Go: `ParseDockerRef`):
 * normalised, with `:latest` added to a bare name, and with the tag dropped
 * when both a tag and a digest are given (the digest wins).
 */
export function parseDockerRef(s: string): NamedTagged | Canonical {
  const named = parseNormalizedNamed(s);
  if (isTagged(named) && isDigested(named)) {
    return makeNamed(named.domain, named.path, undefined, named.digest) as Canonical;
  }
  return tagNameOnly(named) as NamedTagged | Canonical;
}

/**
 * Parses an image ID, a digest, or a familiar name (Go: `ParseAnyReference`):
 * a bare 64-hex string becomes the digest reference `sha256:<hex>`, a valid
 * supported digest becomes a digest reference, anything else goes to
 * {@link parseNormalizedNamed}.
 */
export function parseAnyReference(s: string): Reference {
  requireString(s);
  if (matchers.anchoredIdentifier.test(s)) {
    return makeDigestReference(`sha256:${s}` as Digest);
  }
  if (isDigest(s)) return makeDigestReference(s);
  return parseNormalizedNamed(s);
}
