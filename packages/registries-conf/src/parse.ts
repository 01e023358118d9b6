import { RegistriesConfError } from "./errors.js";
import { parseAliasTable } from "./internal/aliases.js";
import { Fields, get, parseTomlText, type Table } from "./internal/toml.js";
import { isDomain, parseLocation, parseProxy } from "./internal/validate.js";
import type {
  Mirror,
  PullFromMirror,
  RegistriesConfLayer,
  Registry,
  ShortNameAlias,
  ShortNameMode,
} from "./types.js";

/** Options of {@link parseRegistriesConf}. */
export interface ParseRegistriesConfOptions {
  /** Where the text came from (usually its path); names the file in errors. Default `"registries.conf"`. */
  source?: string;
  /** The text is a `registries.conf.d` drop-in: the v1 format is refused. */
  dropIn?: boolean;
}

interface RawEndpoint {
  location: string;
  insecure: boolean;
  proxy: string;
  pullFromMirror: string;
}

interface RawRegistry extends RawEndpoint {
  prefix: string;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: RawEndpoint[];
  /** The TOML path of the entry, for error messages. */
  field: string;
}

const SHORT_NAME_MODES: ReadonlySet<string> = new Set(["enforcing", "permissive", "disabled"]);
const PULL_FROM_MIRROR: ReadonlySet<string> = new Set(["all", "digest-only", "tag-only"]);

/**
 * Parses and validates one registries.conf file (containers-registries.conf(5)),
 * in the v2 format or the legacy v1 format (`[registries.search]`,
 * `[registries.insecure]`, `[registries.block]`), which is converted to v2.
 *
 * Throws {@link RegistriesConfError} (an `InvalidConfigurationError`) naming
 * the source and the field for invalid TOML, wrong value types, mixing v1 and
 * v2, a v1 drop-in, locations with a URL scheme, a location missing where it
 * is required, malformed `*.domain` wildcard prefixes, `pull-from-mirror`
 * misuse, conflicting `insecure`/`blocked`/`proxy` settings for one location,
 * invalid `unqualified-search-registries`, `short-name-mode` or
 * `credential-helpers` entries, and invalid `[aliases]`.
 *
 * Unknown keys are ignored, as containers/image does.
 */
export function parseRegistriesConf(text: string, options: ParseRegistriesConfOptions = {}): RegistriesConfLayer {
  const source = options.source ?? "registries.conf";
  const root = parseTomlText(source, text);
  const f = new Fields(source);

  // --- v1: [registries.search|insecure|block] registries = [...]
  const v1: { search?: string[]; insecure?: string[]; block?: string[] } = {};
  const v1Root = get(root, "registries");
  if (v1Root !== undefined) {
    const t = f.table("registries", v1Root);
    for (const kind of ["search", "insecure", "block"] as const) {
      const sub = get(t, kind);
      if (sub === undefined) continue;
      const st = f.table(`registries.${kind}`, sub);
      const list = get(st, "registries");
      if (list !== undefined) v1[kind] = f.stringArray(`registries.${kind}.registries`, list);
    }
  }
  const v1Set = v1.search !== undefined || v1.insecure !== undefined || v1.block !== undefined;

  // --- v2 top-level fields
  const registryRaw = get(root, "registry");
  const usrRaw = get(root, "unqualified-search-registries");
  const helpersRaw = get(root, "credential-helpers");
  const modeRaw = get(root, "short-name-mode");
  const aliasesRaw = get(root, "aliases");
  const alsHelperRaw = get(root, "additional-layer-store-auth-helper");

  const mode = modeRaw === undefined ? "" : f.string("short-name-mode", modeRaw);
  const alsHelper = alsHelperRaw === undefined ? "" : f.string("additional-layer-store-auth-helper", alsHelperRaw);
  const v2Set =
    registryRaw !== undefined ||
    usrRaw !== undefined ||
    helpersRaw !== undefined ||
    mode !== "" ||
    aliasesRaw !== undefined ||
    alsHelper !== "";

  let rawRegistries: RawRegistry[];
  let usr: string[] | undefined;
  let usrField: string;
  if (v1Set) {
    if (options.dropIn) {
      f.fail("registries", "drop-in files must use the v2 format, but this one uses the v1 [registries.*] tables");
    }
    if (v2Set) {
      f.fail(
        "registries",
        "mixing the v1 format ([registries.search], [registries.insecure], [registries.block]) with v2 fields is not supported; convert the file to the v2 format",
      );
    }
    rawRegistries = convertV1(f, v1);
    usr = v1.search;
    usrField = "registries.search.registries";
  } else {
    rawRegistries =
      registryRaw === undefined ? [] : f.tableArray("registry", registryRaw).map((t, i) => readRegistry(f, t, i));
    usr = usrRaw === undefined ? undefined : f.stringArray("unqualified-search-registries", usrRaw);
    usrField = "unqualified-search-registries";
  }

  const registries = postProcessRegistries(source, rawRegistries);

  const unqualifiedSearchRegistries = usr?.map((entry, i) => {
    const field = `${usrField}[${i}]`;
    const host = parseLocation(source, field, entry);
    if (!isDomain(host)) f.fail(field, `${JSON.stringify(entry)} is not a valid host[:port]`);
    return host;
  });

  let credentialHelpers: string[] | undefined;
  if (helpersRaw !== undefined) {
    credentialHelpers = f.stringArray("credential-helpers", helpersRaw);
    credentialHelpers.forEach((h, i) => {
      if (h === "" || /[/\\\0]/.test(h)) {
        f.fail(`credential-helpers[${i}]`, `${JSON.stringify(h)} is not a credential helper name (docker-credential-<name>)`);
      }
    });
  }

  let shortNameMode: ShortNameMode | undefined;
  if (mode !== "") {
    if (!SHORT_NAME_MODES.has(mode)) {
      f.fail("short-name-mode", `unsupported value ${JSON.stringify(mode)}; use enforcing, permissive or disabled`);
    }
    shortNameMode = mode as ShortNameMode;
  }

  const aliases: ReadonlyMap<string, ShortNameAlias> =
    aliasesRaw === undefined ? new Map() : parseAliasTable(source, "aliases", f.table("aliases", aliasesRaw));

  return { source, registries, unqualifiedSearchRegistries, credentialHelpers, shortNameMode, aliases };
}

/**
 * Parses a short-name-aliases.conf file (the machine-written user file that
 * holds only an `[aliases]` table). Throws {@link RegistriesConfError}.
 */
export function parseShortNameAliasesConf(text: string, source = "short-name-aliases.conf"): Map<string, ShortNameAlias> {
  const root = parseTomlText(source, text);
  const raw = get(root, "aliases");
  if (raw === undefined) return new Map();
  return parseAliasTable(source, "aliases", new Fields(source).table("aliases", raw));
}

function readEndpoint(f: Fields, t: Table, field: string): RawEndpoint {
  return {
    location: f.optString(t, "location", `${field}.location`),
    insecure: f.optBool(t, "insecure", `${field}.insecure`),
    proxy: f.optString(t, "proxy", `${field}.proxy`),
    pullFromMirror: f.optString(t, "pull-from-mirror", `${field}.pull-from-mirror`),
  };
}

function readRegistry(f: Fields, t: Table, i: number): RawRegistry {
  const field = `registry[${i}]`;
  const mirrorsRaw = get(t, "mirror");
  return {
    ...readEndpoint(f, t, field),
    field,
    prefix: f.optString(t, "prefix", `${field}.prefix`),
    blocked: f.optBool(t, "blocked", `${field}.blocked`),
    mirrorByDigestOnly: f.optBool(t, "mirror-by-digest-only", `${field}.mirror-by-digest-only`),
    mirrors:
      mirrorsRaw === undefined
        ? []
        : f.tableArray(`${field}.mirror`, mirrorsRaw).map((m, j) => readEndpoint(f, m, `${field}.mirror[${j}]`)),
  };
}

/** Converts the v1 lists to registry entries: one per location, blocked ones first, in order of appearance. */
function convertV1(f: Fields, v1: { insecure?: string[]; block?: string[] }): RawRegistry[] {
  const byLocation = new Map<string, RawRegistry>();
  const entry = (field: string, value: string): RawRegistry => {
    const location = parseLocation(f.source, field, value);
    if (location === "") f.fail(field, "a registry location must not be empty");
    let reg = byLocation.get(location);
    if (reg === undefined) {
      reg = {
        field,
        location,
        prefix: location,
        insecure: false,
        proxy: "",
        pullFromMirror: "",
        blocked: false,
        mirrorByDigestOnly: false,
        mirrors: [],
      };
      byLocation.set(location, reg);
    }
    return reg;
  };
  (v1.block ?? []).forEach((loc, i) => (entry(`registries.block.registries[${i}]`, loc).blocked = true));
  (v1.insecure ?? []).forEach((loc, i) => (entry(`registries.insecure.registries[${i}]`, loc).insecure = true));
  return [...byLocation.values()];
}

/** Validates and normalises the entries; returns them unique by prefix (first wins) and sorted by prefix. */
function postProcessRegistries(source: string, raw: readonly RawRegistry[]): Registry[] {
  const fail = (field: string, problem: string): never => {
    throw new RegistriesConfError(source, field, problem);
  };
  const processed: Registry[] = [];
  for (const r of raw) {
    const location = parseLocation(source, `${r.field}.location`, r.location);
    if (location.startsWith("*.")) {
      fail(`${r.field}.location`, `${JSON.stringify(location)} is a wildcard; a location names one registry (use the wildcard as prefix)`);
    }
    let prefix: string;
    if (r.prefix === "") {
      if (location === "") fail(r.field, "location and prefix are both unset; set location (and optionally prefix)");
      prefix = location;
    } else {
      prefix = parseLocation(source, `${r.field}.prefix`, r.prefix);
      if (prefix === "") fail(`${r.field}.prefix`, `${JSON.stringify(r.prefix)} is empty once trailing "/" are removed`);
      if (prefix.startsWith("*.")) {
        if (/[/@:]/.test(prefix)) {
          fail(
            `${r.field}.prefix`,
            `wildcard prefix ${JSON.stringify(prefix)} must have the form *.example.com (no "/", "@" or ":")`,
          );
        }
      } else if (location === "") {
        fail(
          `${r.field}.location`,
          `must be set unless the prefix is a *.example.com wildcard (prefix is ${JSON.stringify(prefix)})`,
        );
      }
    }
    const proxy = parseProxy(source, `${r.field}.proxy`, r.proxy);
    if (r.pullFromMirror !== "") {
      fail(
        `${r.field}.pull-from-mirror`,
        `may only be set on a [[registry.mirror]], not on the registry itself (prefix ${JSON.stringify(prefix)})`,
      );
    }
    const mirrors: Mirror[] = r.mirrors.map((m, j) => {
      const mField = `${r.field}.mirror[${j}]`;
      const mLocation = parseLocation(source, `${mField}.location`, m.location);
      if (mLocation === "") fail(`${mField}.location`, "a mirror location must be set");
      const mProxy = parseProxy(source, `${mField}.proxy`, m.proxy);
      if (m.pullFromMirror !== "" && r.mirrorByDigestOnly) {
        fail(
          `${mField}.pull-from-mirror`,
          `cannot be set when the registry (prefix ${JSON.stringify(prefix)}) sets mirror-by-digest-only; use one or the other`,
        );
      }
      if (m.pullFromMirror !== "" && !PULL_FROM_MIRROR.has(m.pullFromMirror)) {
        fail(
          `${mField}.pull-from-mirror`,
          `unsupported value ${JSON.stringify(m.pullFromMirror)}; use all, digest-only or tag-only`,
        );
      }
      const mirror: Mirror = {
        location: mLocation,
        insecure: m.insecure,
        pullFromMirror: (m.pullFromMirror || "all") as PullFromMirror,
        ...(mProxy === undefined ? {} : { proxy: mProxy }),
      };
      return Object.freeze(mirror);
    });
    const reg: Registry = {
      prefix,
      location,
      insecure: r.insecure,
      blocked: r.blocked,
      mirrorByDigestOnly: r.mirrorByDigestOnly,
      mirrors: Object.freeze(mirrors),
      ...(proxy === undefined ? {} : { proxy }),
    };
    processed.push(Object.freeze(reg));
  }

  // One location (or wildcard prefix) may appear in several entries (different
  // prefixes, different mirrors), but its own settings must agree.
  const firstByLocation = new Map<string, number>();
  processed.forEach((reg, i) => {
    const key = reg.location === "" ? reg.prefix : reg.location;
    const firstIndex = firstByLocation.get(key);
    if (firstIndex === undefined) {
      firstByLocation.set(key, i);
      return;
    }
    const first = processed[firstIndex]!;
    const field = raw[i]!.field;
    for (const setting of ["insecure", "blocked", "proxy"] as const) {
      if (first[setting] !== reg[setting]) {
        fail(
          `${field}.${setting}`,
          `registry ${JSON.stringify(key)} is defined several times with conflicting "${setting}" settings (see ${raw[firstIndex]!.field})`,
        );
      }
    }
  });

  // Entries are looked up by longest prefix; a repeated prefix could never
  // win, so only the first one is kept.
  const unique = new Map<string, Registry>();
  for (const reg of processed) if (!unique.has(reg.prefix)) unique.set(reg.prefix, reg);
  return [...unique.values()].sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
}
