import { InvalidReferenceError, type DockerReference } from "@stevedore/types";
import { RegistryBlockedError } from "./errors.js";
import { domainOf, parseNormalized } from "./internal/names.js";
import type { Endpoint, Mirror, RegistriesConfig, Registry } from "./types.js";

/**
 * How many leading characters of `ref` a registries.conf `prefix` matches,
 * or -1 when it does not match.
 *
 * `ref` is a registry (`host[:port]`), a repository name or a whole
 * reference as text, always starting with an explicit host. A plain prefix
 * matches when it equals `ref` or is followed in `ref` by `/`, `:` or `@`
 * (so `example.com/foo` matches `example.com/foo/bar` and
 * `example.com/foo:tag`, not `example.com/foobar`). A `*.example.com`
 * prefix matches any host that ends in `.example.com` (not `example.com`
 * itself), whatever follows the host; the match then covers the host name,
 * without its port.
 */
export function prefixMatchLength(ref: string, prefix: string): number {
  if (prefix.startsWith("*.")) {
    const hostEnd = ref.search(/[/@]/);
    const host = hostEnd === -1 ? ref : ref.slice(0, hostEnd);
    const colon = host.indexOf(":");
    const hostname = colon === -1 ? host : host.slice(0, colon);
    const suffix = prefix.slice(1);
    return hostname.length > suffix.length && hostname.endsWith(suffix) ? hostname.length : -1;
  }
  if (ref.length < prefix.length || !ref.startsWith(prefix)) return -1;
  if (ref.length === prefix.length) return prefix.length;
  const next = ref[prefix.length];
  return next === "/" || next === ":" || next === "@" ? prefix.length : -1;
}

function refText(ref: string | DockerReference): string {
  return typeof ref === "string" ? ref : ref.toString();
}

/**
 * The `[[registry]]` entry that applies to `ref` (a reference, a repository
 * name or a `host[:port]`): the one with the longest matching prefix, or
 * `undefined` when none matches.
 */
export function findRegistry(config: RegistriesConfig, ref: string | DockerReference): Registry | undefined {
  const text = refText(ref);
  let best: Registry | undefined;
  for (const reg of config.registries) {
    if (prefixMatchLength(text, reg.prefix) !== -1 && reg.prefix.length > (best?.prefix.length ?? 0)) best = reg;
  }
  return best;
}

/** One place to try when pulling an image, with the reference to use there. */
export interface PullSource {
  /** The mirror or primary location; `insecure` says whether TLS verification is skipped. */
  readonly endpoint: Endpoint | Mirror;
  /** Whether the endpoint is a mirror (false for the registry's own location). */
  readonly mirror: boolean;
  /** The reference rewritten for the endpoint (the matched prefix replaced by its location). */
  readonly reference: DockerReference;
}

/**
 * Rewrites `ref` for `endpoint`: the part matched by `prefix` is replaced by
 * the endpoint's location. An empty location (only allowed with a wildcard
 * prefix) keeps the reference unchanged.
 */
export function rewriteReference(ref: DockerReference, prefix: string, location: string): DockerReference {
  const text = ref.toString();
  const matched = prefixMatchLength(text, prefix);
  if (matched === -1) throw new InvalidReferenceError(`${text} does not match the registries.conf prefix "${prefix}"`);
  if (location === "") {
    if (!prefix.startsWith("*.")) {
      throw new InvalidReferenceError(
        `cannot rewrite ${text}: the registries.conf entry with prefix "${prefix}" has an empty location`,
      );
    }
    return ref;
  }
  const rewritten = location + text.slice(matched);
  let parsed: DockerReference;
  try {
    parsed = parseNormalized(rewritten);
  } catch (e) {
    throw new InvalidReferenceError(
      `rewriting ${text} with the registries.conf prefix "${prefix}" and location "${location}" gives "${rewritten}", which is not a valid reference`,
      { cause: e },
    );
  }
  if (parsed.toString() !== rewritten) {
    throw new InvalidReferenceError(
      `rewriting ${text} with the registries.conf prefix "${prefix}" and location "${location}" gives "${rewritten}", which is not in canonical form (${parsed.toString()})`,
    );
  }
  return parsed;
}

/**
 * Where to pull `ref` from, in order, given the `[[registry]]` entry that
 * matches it: the eligible mirrors, then the registry's own location.
 * Mirrors are skipped for tag references when the registry sets
 * `mirror-by-digest-only`, and per mirror by `pull-from-mirror`
 * (`digest-only` mirrors only serve digest references, `tag-only` mirrors
 * only tag references). Each source carries its rewritten reference and
 * its `insecure` flag.
 *
 * Throws {@link RegistryBlockedError} when the entry is blocked and
 * `InvalidReferenceError` when a rewrite does not yield a valid reference.
 */
export function pullSources(registry: Registry, ref: DockerReference): PullSource[] {
  if (registry.blocked) throw new RegistryBlockedError(ref.toString(), registry.prefix);
  const byDigest = ref.digest !== undefined;
  const mirrors = registry.mirrors.filter((m) => {
    if (registry.mirrorByDigestOnly) return byDigest;
    if (m.pullFromMirror === "digest-only") return byDigest;
    if (m.pullFromMirror === "tag-only") return !byDigest;
    return true;
  });
  const sources: PullSource[] = mirrors.map((m) => ({
    endpoint: m,
    mirror: true,
    reference: rewriteReference(ref, registry.prefix, m.location),
  }));
  sources.push({ endpoint: registry, mirror: false, reference: rewriteReference(ref, registry.prefix, registry.location) });
  return sources;
}

/**
 * {@link pullSources} for whatever entry of `config` matches `ref`; without a
 * matching entry, the one source is `ref` itself on its own registry
 * (secure). Throws {@link RegistryBlockedError} for a blocked entry.
 */
export function pullSourcesFor(config: RegistriesConfig, ref: DockerReference): PullSource[] {
  const registry = findRegistry(config, ref);
  if (registry !== undefined) return pullSources(registry, ref);
  return [{ endpoint: { location: domainOf(ref.name), insecure: false }, mirror: false, reference: ref }];
}

/** Whether access to `ref` (a reference, repository or host) is blocked by registries.conf. */
export function isBlocked(config: RegistriesConfig, ref: string | DockerReference): boolean {
  return findRegistry(config, ref)?.blocked ?? false;
}

/** Throws {@link RegistryBlockedError} when registries.conf blocks access to `ref`. */
export function assertNotBlocked(config: RegistriesConfig, ref: string | DockerReference): void {
  const registry = findRegistry(config, ref);
  if (registry?.blocked) throw new RegistryBlockedError(refText(ref), registry.prefix);
}

/**
 * Whether registries.conf marks `host` (a `host[:port]`, or a repository or
 * reference on it) as insecure: TLS verification skipped and plain HTTP
 * allowed. False when no entry matches.
 */
export function isInsecure(config: RegistriesConfig, host: string | DockerReference): boolean {
  return findRegistry(config, host)?.insecure ?? false;
}
