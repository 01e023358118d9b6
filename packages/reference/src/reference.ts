/**
 * The non-normalising operations on references: `parse`, `withName`,
 * `withTag`, `withDigest`, `trimNamed`, `domain`, `path`, and type guards.
 *
 * @module
 */

import { isDigest, type DockerReference } from "@stevedore/types";
import { invalid, requireString, Rule } from "./internal/errors.js";
import { makeNamed } from "./internal/objects.js";
import { checkDigest, NAME_TOTAL_LENGTH_MAX, parseReference, splitDomain } from "./internal/parse.js";
import { matchers } from "./internal/patterns.js";
import type { Canonical, Digested, Named, NamedTagged, Tagged } from "./types.js";

/** The maximum length of a repository name, domain included (Go: `NameTotalLengthMax`). */
export const nameTotalLengthMax = NAME_TOTAL_LENGTH_MAX;

/** Whether `ref` has a repository name (every reference except a bare digest). */
export function isNamed(ref: unknown): ref is Named {
  return typeof ref === "object" && ref !== null && typeof (ref as { name?: unknown }).name === "string" && (ref as { name: string }).name !== "";
}

/** Whether `ref` carries a tag. */
export function isTagged<T>(ref: T): ref is T & Tagged {
  return typeof ref === "object" && ref !== null && typeof (ref as { tag?: unknown }).tag === "string";
}

/** Whether `ref` carries a (valid) digest. */
export function isDigested<T>(ref: T): ref is T & Digested {
  return typeof ref === "object" && ref !== null && isDigest((ref as { digest?: unknown }).digest);
}

/**
 * The domain and path of `ref`: its own when it is one of ours, else split
 * from its name. Throws when `ref` has no name (a digest reference, or
 * something that is not a reference at all).
 */
function parts(ref: DockerReference): [string, string] {
  if (!isNamed(ref)) throw invalid(ref, Rule.noName);
  const r = ref as Partial<Named>;
  if (typeof r.domain === "string" && typeof r.path === "string") return [r.domain, r.path];
  return splitDomain(ref.name);
}

/** The domain part of a named reference, "" when it has none (Go: `Domain`). */
export function domain(ref: DockerReference): string {
  return parts(ref)[0];
}

/** The name without its domain part (Go: `Path`). */
export function path(ref: DockerReference): string {
  return parts(ref)[1];
}

/**
 * Parses `s` as a reference without normalising it (Go: `Parse`): `busybox`
 * stays `busybox`, not `docker.io/library/busybox`. The first path component
 * is taken as the domain whenever there is more than one. Throws
 * `InvalidReferenceError` for an empty string, a string that breaks the
 * grammar, uppercase letters in the repository name, a name longer than 255
 * characters, or an unsupported or malformed digest.
 */
export function parse(s: string): Named {
  requireString(s);
  return parseReference(s, s);
}

/**
 * Makes a name-only reference from `name` without normalising it (Go:
 * `WithName`). A tag or digest in `name` is an error.
 */
export function withName(name: string): Named {
  requireString(name);
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw invalid(name, Rule.nameTooLong);
  const m = matchers.anchoredName.exec(name);
  if (m === null) throw invalid(name, Rule.invalidFormat);
  return makeNamed(m[1] ?? "", m[2] ?? "");
}

/**
 * Returns `name` with `tag` (Go: `WithTag`); a digest on `name` is kept, an
 * existing tag replaced.
 */
export function withTag(name: DockerReference, tag: string): NamedTagged {
  requireString(tag);
  if (!matchers.anchoredTag.test(tag)) throw invalid(tag, Rule.tagFormat);
  const [dom, p] = parts(name);
  const digest = isDigested(name) ? name.digest : undefined;
  return makeNamed(dom, p, tag, digest) as NamedTagged;
}

/**
 * Returns `name` with `digest` (Go: `WithDigest`); a tag on `name` is kept,
 * an existing digest replaced. The digest must be well-formed and use a
 * supported algorithm with lowercase hex of the right length.
 */
export function withDigest(name: DockerReference, digest: string): Canonical {
  requireString(digest);
  if (!matchers.anchoredDigest.test(digest)) throw invalid(digest, Rule.digestFormat);
  const d = checkDigest(digest, digest);
  const [dom, p] = parts(name);
  const tag = isTagged(name) ? name.tag : undefined;
  return makeNamed(dom, p, tag, d) as Canonical;
}

/** Returns the name of `ref` without its tag and digest (Go: `TrimNamed`). */
export function trimNamed(ref: DockerReference): Named {
  const [dom, p] = parts(ref);
  return makeNamed(dom, p);
}
