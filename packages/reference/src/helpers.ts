/**
 * Familiar forms (what the docker CLI prints) and default tags.
 *
 * @module
 */

import type { DockerReference } from "@stevedore/types";
import { defaultDomain, defaultTag, officialRepoPrefix } from "./constants.js";
import { invalid, requireString, Rule } from "./internal/errors.js";
import { pathMatch } from "./match.js";
import { domain, isDigested, isNamed, isTagged, path, withTag } from "./reference.js";
import type { Named, Reference } from "./types.js";

/**
 * The shortest name the docker CLI would show for `domain/path`:
 * `docker.io/` is dropped, and so is `library/` when one component follows.
 */
function familiarize(dom: string, p: string): string {
  if (dom !== defaultDomain) return dom === "" ? p : `${dom}/${p}`;
  if (p.startsWith(officialRepoPrefix)) {
    const rest = p.slice(officialRepoPrefix.length);
    if (!rest.includes("/")) return rest;
  }
  return p;
}

/**
 * The familiar name of `ref` (Go: `FamiliarName`): `docker.io/library/redis`
 * → `redis`, `docker.io/dmcgowan/myapp` → `dmcgowan/myapp`; names on other
 * registries are unchanged.
 */
export function familiarName(ref: DockerReference): string {
  return familiarize(domain(ref), path(ref));
}

/**
 * The familiar text of `ref` (Go: `FamiliarString`): the familiar name with
 * the tag and digest, e.g. `busybox:latest@sha256:…`. A digest reference is
 * its digest.
 */
export function familiarString(ref: Reference | DockerReference): string {
  if (!isNamed(ref)) return String(ref);
  let s = familiarName(ref);
  if (isTagged(ref)) s += ":" + ref.tag;
  if (isDigested(ref)) s += "@" + ref.digest;
  return s;
}

/**
 * Whether `pattern` (Go `path.Match` syntax: `*`, `?`, `[…]`, `\`) matches
 * the familiar string of `ref`, or, for a named reference, its familiar name
 * (Go: `FamiliarMatch`). A malformed pattern throws `InvalidReferenceError`
 * ("syntax error in pattern").
 */
export function familiarMatch(pattern: string, ref: Reference | DockerReference): boolean {
  requireString(pattern);
  if (pathMatch(pattern, familiarString(ref))) return true;
  if (isNamed(ref)) {
    try {
      return pathMatch(pattern, familiarName(ref));
    } catch {
      // The first match already validated the pattern; Go ignores this error too.
      return false;
    }
  }
  return false;
}

/** Whether `ref` has neither a tag nor a digest (Go: `IsNameOnly`). */
export function isNameOnly(ref: DockerReference): boolean {
  return !isTagged(ref) && !isDigested(ref);
}

/** Adds the tag `latest` to a reference that has neither tag nor digest (Go: `TagNameOnly`). */
export function tagNameOnly(ref: Named): Named {
  if (!isNamed(ref)) throw invalid(ref, Rule.noName);
  return isNameOnly(ref) ? withTag(ref, defaultTag) : ref;
}
