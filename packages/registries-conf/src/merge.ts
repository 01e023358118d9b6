import { parseRegistriesConf, type ParseRegistriesConfOptions } from "./parse.js";
import {
  AUTH_FILE_CREDENTIAL_HELPER,
  DEFAULT_SHORT_NAME_MODE,
  type RegistriesConfig,
  type RegistriesConfLayer,
  type Registry,
  type ShortNameAlias,
  type ShortNameMode,
} from "./types.js";

/**
 * Builds the effective configuration from a main registries.conf (or
 * `undefined` when there is none) and its drop-ins, applied in the given
 * order, as containers-registries.conf.d(5) describes:
 *
 * - `[[registry]]` entries are merged by prefix (a later entry with the same
 *   prefix replaces the earlier one); the result is sorted by prefix;
 * - `unqualified-search-registries`, `credential-helpers` and
 *   `short-name-mode` are replaced by each file that sets them (an empty
 *   array counts as set);
 * - `[aliases]` are merged by short name, later files winning.
 *
 * Defaults: no search registries, `credential-helpers = ["containers-auth.json"]`
 * (also when the result is an empty list), `short-name-mode = "permissive"`.
 */
export function mergeRegistriesConf(
  main: RegistriesConfLayer | undefined,
  dropIns: readonly RegistriesConfLayer[] = [],
): RegistriesConfig {
  const registries = new Map<string, Registry>();
  let unqualifiedSearchRegistries: readonly string[] = [];
  // Like containers/image, the main file is named as the origin of the
  // (possibly empty) search list even when it does not set one.
  let unqualifiedSearchRegistriesOrigin: string | undefined = main?.source;
  let credentialHelpers: readonly string[] | undefined;
  let shortNameMode: ShortNameMode | undefined;
  const aliases = new Map<string, ShortNameAlias>();
  const sources: string[] = [];

  for (const layer of main === undefined ? dropIns : [main, ...dropIns]) {
    sources.push(layer.source);
    for (const reg of layer.registries) registries.set(reg.prefix, reg);
    if (layer.unqualifiedSearchRegistries !== undefined) {
      unqualifiedSearchRegistries = layer.unqualifiedSearchRegistries;
      unqualifiedSearchRegistriesOrigin = layer.source;
    }
    if (layer.credentialHelpers !== undefined) credentialHelpers = layer.credentialHelpers;
    if (layer.shortNameMode !== undefined) shortNameMode = layer.shortNameMode;
    for (const [name, alias] of layer.aliases) aliases.set(name, alias);
  }

  const sorted = [...registries.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
  return Object.freeze({
    registries: Object.freeze(sorted),
    unqualifiedSearchRegistries: Object.freeze([...unqualifiedSearchRegistries]),
    unqualifiedSearchRegistriesOrigin,
    credentialHelpers: Object.freeze(
      credentialHelpers !== undefined && credentialHelpers.length > 0
        ? [...credentialHelpers]
        : [AUTH_FILE_CREDENTIAL_HELPER],
    ),
    shortNameMode: shortNameMode ?? DEFAULT_SHORT_NAME_MODE,
    aliases,
    sources: Object.freeze(sources),
  });
}

/**
 * Parses one registries.conf text and returns it as the effective
 * configuration (no drop-ins). Throws like {@link parseRegistriesConf}.
 */
export function registriesConfigFromText(text: string, options: ParseRegistriesConfOptions = {}): RegistriesConfig {
  return mergeRegistriesConf(parseRegistriesConf(text, options));
}

/** The configuration in force when there is no registries.conf at all. */
export function emptyRegistriesConfig(): RegistriesConfig {
  return mergeRegistriesConf(undefined);
}
