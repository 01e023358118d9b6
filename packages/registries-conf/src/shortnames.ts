import { AmbiguousImageError, InvalidReferenceError, type DockerReference } from "@stevedore/types";
import { explicitRegistry, parseWithDefaultTag, splitName, type SplitName } from "./internal/names.js";
import type { RegistriesConfig, ShortNameAlias, ShortNameMode } from "./types.js";

/**
 * Whether `name` is a short name: a valid image name whose first
 * `/`-separated component is not a registry (it has no `.` or `:` and is not
 * `localhost`), e.g. `fedora`, `library/busybox:1`, `alpine@sha256:…`.
 * `quay.io/x`, `localhost/x` and `host:5000/x` are not short; neither is an
 * invalid name.
 */
export function isShortName(name: string): boolean {
  let split: SplitName;
  try {
    split = splitName(name);
  } catch {
    return false;
  }
  return explicitRegistry(split.repo) === undefined;
}

/** Options of {@link resolveShortName} and {@link resolveShortNameLocally}. */
export interface ResolveShortNameOptions {
  /**
   * The user's alias file (short-name-aliases.conf); consulted before the
   * aliases of registries.conf. An entry there whose value is `undefined`
   * hides any registries.conf alias of the same name.
   */
  userAliases?: ReadonlyMap<string, ShortNameAlias>;
  /** Overrides the configuration's `short-name-mode` (SystemContext.shortNameMode). */
  mode?: ShortNameMode;
}

/** Why a name resolved to its candidates. */
export type ShortNameRationale = "fully-qualified" | "alias" | "search-registries";

/** The result of {@link resolveShortName}. */
export interface ResolvedShortName {
  /** The name as given. */
  readonly input: string;
  /** Fully-qualified references to try, in order; `:latest` is added when the name had neither tag nor digest. */
  readonly candidates: readonly DockerReference[];
  /** How the candidates were found. */
  readonly rationale: ShortNameRationale;
  /** The file of the alias or of the search registries, when there is one. */
  readonly origin: string | undefined;
  /** The short-name mode that was applied. */
  readonly mode: ShortNameMode;
  /** A line to show a user before pulling ("" when there is nothing worth saying). */
  readonly description: string;
}

function withTagAndDigest(repo: string, split: SplitName): string {
  return `${repo}${split.tag !== undefined ? `:${split.tag}` : ""}${split.digest !== undefined ? `@${split.digest}` : ""}`;
}

/** Parses a candidate and adds `:latest` when it has neither tag nor digest. */
function candidate(text: string): DockerReference {
  return parseWithDefaultTag(text);
}

interface Parsed {
  split: SplitName;
  short: boolean;
}

function parseInput(name: string): Parsed {
  const split = splitName(name); // throws InvalidReferenceError

  return { split, short: explicitRegistry(split.repo) === undefined };
}

function lookupAlias(
  config: RegistriesConfig,
  repo: string,
  userAliases: ReadonlyMap<string, ShortNameAlias> | undefined,
): ShortNameAlias | undefined {
  if (userAliases?.has(repo)) return userAliases.get(repo);
  return config.aliases.get(repo);
}

/**
 * Resolves an image name the way containers/image's `shortnames.Resolve`
 * does, without prompting (there is no TTY in a library):
 *
 * 1. a fully-qualified name is its own single candidate;
 * 2. a short name with an alias (user alias file first, then registries.conf)
 *    resolves to the alias, keeping the name's tag or digest;
 * 3. otherwise each `unqualified-search-registries` entry gives a candidate,
 *    in order. With more than one, `disabled` and `permissive` modes return
 *    them all; `enforcing` mode throws `AmbiguousImageError` (it would
 *    prompt on a terminal).
 *
 * Throws `InvalidReferenceError` for an invalid name and for a short name
 * with neither an alias nor search registries.
 */
export function resolveShortName(
  config: RegistriesConfig,
  name: string,
  options: ResolveShortNameOptions = {},
): ResolvedShortName {
  const mode = options.mode ?? config.shortNameMode;
  const { split, short } = parseInput(name);
  if (!short) {
    return Object.freeze({
      input: name,
      candidates: Object.freeze([candidate(name)]),
      rationale: "fully-qualified",
      origin: undefined,
      mode,
      description: "",
    });
  }

  const alias = lookupAlias(config, split.repo, options.userAliases);
  if (alias?.value !== undefined) {
    return Object.freeze({
      input: name,
      candidates: Object.freeze([candidate(withTagAndDigest(alias.value, split))]),
      rationale: "alias",
      origin: alias.origin,
      mode,
      description: `Resolved "${split.repo}" as an alias (${alias.origin})`,
    });
  }

  const origin = config.unqualifiedSearchRegistriesOrigin;
  if (config.unqualifiedSearchRegistries.length === 0) {
    const where =
      origin !== undefined
        ? `no unqualified-search-registries are defined in ${origin}`
        : "no registries.conf was found";
    throw new InvalidReferenceError(
      `short name "${name}" did not resolve to an alias and ${where}; use a fully-qualified name (e.g. docker.io/library/${split.repo}) or define an alias`,
    );
  }
  const candidates = config.unqualifiedSearchRegistries.map((reg) => candidate(`${reg}/${name}`));
  if (candidates.length > 1 && mode === "enforcing") {
    throw new AmbiguousImageError(
      `short name "${name}" is ambiguous in enforcing short-name mode and there is no terminal to choose: it could be ${candidates
        .map((c) => c.toString())
        .join(", ")}; use a fully-qualified name or define an alias`,
    );
  }
  return Object.freeze({
    input: name,
    candidates: Object.freeze(candidates),
    rationale: "search-registries",
    origin,
    mode,
    description: `Resolving "${split.repo}" using unqualified-search registries (${origin ?? "registries.conf"})`,
  });
}

/**
 * The names a short name may have in local storage, in order: its alias,
 * then `localhost/<name>`, then `<search registry>/<name>` for each search
 * registry (containers/image's `ResolveLocally`). A fully-qualified name is
 * returned alone. `:latest` is added when the name has neither tag nor
 * digest. Throws `InvalidReferenceError` for an invalid name.
 */
export function resolveShortNameLocally(
  config: RegistriesConfig,
  name: string,
  options: ResolveShortNameOptions = {},
): DockerReference[] {
  const { split, short } = parseInput(name);
  if (!short) return [candidate(name)];
  const out: DockerReference[] = [];
  const alias = lookupAlias(config, split.repo, options.userAliases);
  if (alias?.value !== undefined) out.push(candidate(withTagAndDigest(alias.value, split)));
  for (const reg of ["localhost", ...config.unqualifiedSearchRegistries]) out.push(candidate(`${reg}/${name}`));
  return out;
}
