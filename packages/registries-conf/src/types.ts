/**
 * The shapes of a parsed registries.conf (containers-registries.conf(5)):
 * one file as a {@link RegistriesConfLayer}, the merged result of a main
 * file and its drop-ins as a {@link RegistriesConfig}.
 */

/** How short names (`fedora`, `library/busybox`) are resolved. */
export type ShortNameMode = "enforcing" | "permissive" | "disabled";

/** When a mirror may be used: for every pull, only by digest, or only by tag. */
export type PullFromMirror = "all" | "digest-only" | "tag-only";

/** The name of the built-in credential "helper" that means "the auth files". */
export const AUTH_FILE_CREDENTIAL_HELPER = "containers-auth.json";

/** The default `short-name-mode`. */
export const DEFAULT_SHORT_NAME_MODE: ShortNameMode = "permissive";

/** A place images can be pulled from: the primary location of a registry, or a mirror. */
export interface Endpoint {
  /**
   * `host[:port][/namespace…]`, without a scheme and without a trailing `/`.
   * Empty only for a registry whose prefix is a `*.domain` wildcard (the
   * reference is then used unchanged).
   */
  readonly location: string;
  /** Skip TLS verification and allow plain HTTP. */
  readonly insecure: boolean;
  /** The forwarding proxy URL (`http`, `https`, `socks5`, `socks5h`), when one is configured. */
  readonly proxy?: string;
}

/** A `[[registry.mirror]]` entry. */
export interface Mirror extends Endpoint {
  /** Which pulls may use this mirror; `"all"` when unset. */
  readonly pullFromMirror: PullFromMirror;
}

/** A `[[registry]]` entry, after validation and normalisation. */
export interface Registry extends Endpoint {
  /**
   * What the entry matches: `host[:port]`, `host[:port]/namespace…`, a
   * repository, an image (`…:tag`, `…@digest`) or a `*.domain` wildcard.
   * Defaults to `location`.
   */
  readonly prefix: string;
  /** Pulls matching this entry are refused. */
  readonly blocked: boolean;
  /** Mirrors are used only for pulls by digest. */
  readonly mirrorByDigestOnly: boolean;
  /** The mirrors, in the order they are tried. */
  readonly mirrors: readonly Mirror[];
}

/** One `[aliases]` entry. */
export interface ShortNameAlias {
  /**
   * The fully-qualified, normalised repository the short name stands for
   * (e.g. `docker.io/library/fedora`), or `undefined` when the entry is `""`
   * (an explicit "no alias" that cancels one from an earlier file).
   */
  readonly value: string | undefined;
  /** The file (or other source) the alias comes from. */
  readonly origin: string;
}

/**
 * One registries.conf file (a main file or a drop-in) after validation.
 * Fields that the file does not set are `undefined`; an empty array that
 * the file sets (`unqualified-search-registries = []`) is kept, because it
 * replaces what earlier files set.
 */
export interface RegistriesConfLayer {
  /** Where the text came from (a path), used in error messages and origins. */
  readonly source: string;
  /** The `[[registry]]` entries: unique prefixes (the first of duplicates wins), sorted by prefix. */
  readonly registries: readonly Registry[];
  /** `unqualified-search-registries`, when set. */
  readonly unqualifiedSearchRegistries: readonly string[] | undefined;
  /** `credential-helpers`, when set. */
  readonly credentialHelpers: readonly string[] | undefined;
  /** `short-name-mode`, when set to a non-empty value. */
  readonly shortNameMode: ShortNameMode | undefined;
  /** `[aliases]`, keyed by short name. */
  readonly aliases: ReadonlyMap<string, ShortNameAlias>;
}

/** The effective configuration: a main file with its drop-ins applied. */
export interface RegistriesConfig {
  /** The `[[registry]]` entries, unique by prefix and sorted by prefix. */
  readonly registries: readonly Registry[];
  /** Registries (`host[:port]`) tried, in order, for short names. */
  readonly unqualifiedSearchRegistries: readonly string[];
  /** The file that set `unqualifiedSearchRegistries`, if any did. */
  readonly unqualifiedSearchRegistriesOrigin: string | undefined;
  /**
   * Credential helpers in lookup order; `containers-auth.json` stands for
   * the auth files. Defaults to `["containers-auth.json"]`.
   */
  readonly credentialHelpers: readonly string[];
  /** The short-name mode; defaults to `permissive`. */
  readonly shortNameMode: ShortNameMode;
  /** Short-name aliases of every file, later files overriding earlier ones. */
  readonly aliases: ReadonlyMap<string, ShortNameAlias>;
  /** The files that were read, in the order they were applied. */
  readonly sources: readonly string[];
}
