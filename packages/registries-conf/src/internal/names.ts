import { parse, parseNormalizedNamed, tagNameOnly } from "@stevedore/reference";
import type { DockerReference } from "@stevedore/types";

/** A reference string split into its parts without normalising it. */
export interface SplitName {
  /** The repository as written (`fedora`, `library/busybox`, `quay.io/x/y`). */
  readonly repo: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/**
 * Parses `repo[:tag][@digest]` without normalising it (`busybox` stays
 * `busybox`). Throws `InvalidReferenceError` when it breaks the grammar.
 */
export function splitName(input: string): SplitName {
  const ref = parse(input);
  return { repo: ref.name, tag: ref.tag, digest: ref.digest };
}

/**
 * The registry part of a repository as written, or `undefined` when it has
 * none: the first `/`-separated component counts as a registry only when it
 * contains `.` or `:` or is `localhost` (the docker rule).
 */
export function explicitRegistry(repo: string): string | undefined {
  const slash = repo.indexOf("/");
  if (slash === -1) return undefined;
  const first = repo.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : undefined;
}

/** Parses and normalises a docker reference (`docker.io/library/` added); throws `InvalidReferenceError`. */
export function parseNormalized(input: string): DockerReference {
  return parseNormalizedNamed(input);
}

/** Parses and normalises a reference and adds `:latest` when it has neither tag nor digest. */
export function parseWithDefaultTag(input: string): DockerReference {
  return tagNameOnly(parseNormalizedNamed(input));
}

/** The registry (first component) of a normalised repository name. */
export function domainOf(name: string): string {
  const slash = name.indexOf("/");
  return slash === -1 ? name : name.slice(0, slash);
}
