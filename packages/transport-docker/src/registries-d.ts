/**
 * containers-registries.d(5): where the `docker` transport keeps signatures
 * of images in a registry — a "lookaside" URL for simple-signing
 * signatures, and whether sigstore signatures are attached to the
 * repository as `sha256-<hex>.sig` manifests.
 *
 * The directory is `ctx.registriesDirPath`, else
 * `$HOME/.config/containers/registries.d` when it exists, else
 * `<ctx.rootForImplicitAbsolutePaths>/etc/containers/registries.d`. Every
 * `*.yaml` file in it is read and merged; a section (`default-docker`, or one
 * namespace under `docker`) may be defined by one file only.
 *
 * ```yaml
 * default-docker:
 *   lookaside: https://sigs.example.com/store
 *   lookaside-staging: file:///srv/sigstore
 * docker:
 *   quay.io/org:
 *     lookaside: file:///var/lib/containers/sigstore
 *     use-sigstore-attachments: true
 * ```
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { domain as domainOf, path as pathOf } from "@stevedore/reference";
import {
  digestAlgorithm,
  digestHex,
  InvalidConfigurationError,
  parseDigest,
  throwIfAborted,
  type Digest,
  type DockerReference,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";
import { dockerReferenceNamespaces } from "./reference.js";

/** The per-user registries.d directory, relative to the home directory. */
export const USER_REGISTRIES_DIR = ".config/containers/registries.d";
/** The system registries.d directory (under `ctx.rootForImplicitAbsolutePaths`). */
export const SYSTEM_REGISTRIES_DIR = "/etc/containers/registries.d";
/** The built-in lookaside directory of root (under `ctx.rootForImplicitAbsolutePaths`). */
export const ROOT_LOOKASIDE_DIR = "/var/lib/containers/sigstore";
/** The built-in lookaside directory of other users, relative to the home directory. */
export const USER_LOOKASIDE_DIR = ".local/share/containers/sigstore";

/** The keys a namespace section may have. */
const NAMESPACE_KEYS: ReadonlySet<string> = new Set(["lookaside", "lookaside-staging", "sigstore", "sigstore-staging", "use-sigstore-attachments"]);
/** The keys a registries.d file may have at the top level. */
const TOP_KEYS: ReadonlySet<string> = new Set(["default-docker", "docker"]);

/** One section of registries.d: `default-docker`, or one namespace under `docker`. */
export interface RegistriesDirNamespace {
  /** Where signatures are read from, and written to when there is no staging URL. */
  readonly lookaside?: string;
  /** Where signatures are written to (only `file:` URLs can be written). */
  readonly lookasideStaging?: string;
  /** The old name of `lookaside`; `lookaside` wins when both are set. */
  readonly sigstore?: string;
  /** The old name of `lookaside-staging`; `lookaside-staging` wins when both are set. */
  readonly sigstoreStaging?: string;
  /** Read and write sigstore signatures as `sha256-<hex>.sig` attachments in the repository. */
  readonly useSigstoreAttachments?: boolean;
  /** The file the section comes from. */
  readonly file: string;
}

/** The merged registries.d configuration. */
export interface RegistriesDirConfig {
  /** The directory the files were read from (it may not exist). */
  readonly dir: string;
  /** The `default-docker` section, when one file defines it. */
  readonly defaultDocker?: RegistriesDirNamespace;
  /** The `docker` sections by namespace (`quay.io/org/app`, `quay.io/org`, `quay.io`, `*.example.com`, or a full `name:tag`). */
  readonly docker: ReadonlyMap<string, RegistriesDirNamespace>;
}

/** What one registries.d file defines. */
export interface RegistriesDirFile {
  readonly file: string;
  readonly defaultDocker?: RegistriesDirNamespace;
  readonly docker: ReadonlyMap<string, RegistriesDirNamespace>;
}

function homeOf(ctx: SystemContext): string {
  return ctx.homeDir ?? ctx.env?.HOME ?? homedir();
}

function errno(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === "string" ? c : undefined;
}

function describeError(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The registries.d directory for `ctx`: `ctx.registriesDirPath`; else
 * `$HOME/.config/containers/registries.d` when it exists; else
 * `<root>/etc/containers/registries.d` (`root` =
 * `ctx.rootForImplicitAbsolutePaths`), as containers/image chooses it.
 */
export async function registriesDirPath(ctx: SystemContext = {}): Promise<string> {
  if (ctx.registriesDirPath) return ctx.registriesDirPath;
  const user = join(homeOf(ctx), USER_REGISTRIES_DIR);
  try {
    await stat(user);
    return user;
  } catch {
    // not there: the system directory
  }
  return join(ctx.rootForImplicitAbsolutePaths ?? "", SYSTEM_REGISTRIES_DIR);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks a lookaside URL setting: an absolute `file:` (without a host), `http:` or `https:` URL. */
function checkURL(value: string, key: string, where: string): void {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new InvalidConfigurationError(`${where}: "${key}" ${JSON.stringify(value)} is not an absolute URL (write file:///path, http://… or https://…)`);
  }
  if (u.protocol !== "file:" && u.protocol !== "http:" && u.protocol !== "https:") {
    throw new InvalidConfigurationError(`${where}: "${key}" ${JSON.stringify(value)} has the unsupported scheme ${u.protocol} (use file:, http: or https:)`);
  }
  if (u.protocol === "file:" && u.host !== "") {
    throw new InvalidConfigurationError(`${where}: "${key}" ${JSON.stringify(value)} names a host; a file: URL must be file:///absolute/path`);
  }
}

function parseNamespace(value: unknown, file: string, where: string): RegistriesDirNamespace {
  if (value === null || value === undefined) return { file };
  if (!isPlainObject(value)) throw new InvalidConfigurationError(`${where} in ${file} must be a mapping of settings`);
  const out: {
    lookaside?: string;
    lookasideStaging?: string;
    sigstore?: string;
    sigstoreStaging?: string;
    useSigstoreAttachments?: boolean;
    file: string;
  } = { file };
  for (const [key, v] of Object.entries(value)) {
    if (!NAMESPACE_KEYS.has(key)) {
      throw new InvalidConfigurationError(
        `${where} in ${file}: unknown key ${JSON.stringify(key)} (known: lookaside, lookaside-staging, sigstore, sigstore-staging, use-sigstore-attachments)`,
      );
    }
    if (key === "use-sigstore-attachments") {
      if (v === null) continue;
      // Files are read with YAML 1.1 rules, as the Go library reads them: `yes`/`no`/`on`/`off` are booleans too.
      if (typeof v !== "boolean") throw new InvalidConfigurationError(`${where} in ${file}: "use-sigstore-attachments" must be true or false, got ${JSON.stringify(v)}`);
      out.useSigstoreAttachments = v;
      continue;
    }
    if (v === null || v === "") continue;
    if (typeof v !== "string") throw new InvalidConfigurationError(`${where} in ${file}: "${key}" must be a URL string, got ${JSON.stringify(v)}`);
    checkURL(v, key, `${where} in ${file}`);
    if (key === "lookaside") out.lookaside = v;
    else if (key === "lookaside-staging") out.lookasideStaging = v;
    else if (key === "sigstore") out.sigstore = v;
    else out.sigstoreStaging = v;
  }
  return out;
}

/**
 * Parses the text of one registries.d file (`file` names it in errors).
 * Unknown keys, wrong types, invalid URLs and YAML errors (duplicate keys
 * included) are `InvalidConfigurationError`s naming the file. An empty
 * `default-docker:` defines nothing, as in containers/image; an empty
 * namespace under `docker:` defines that namespace with no settings.
 * The YAML parser is loaded on the first call: most machines have no
 * registries.d files, and loading it cost every registry command about 6 ms.
 */
export async function parseRegistriesDirFile(text: string, file: string): Promise<RegistriesDirFile> {
  const { parseDocument } = await import("yaml");
  let data: unknown;
  try {
    const doc = parseDocument(text, { version: "1.1", uniqueKeys: true, prettyErrors: false });
    const first = doc.errors[0];
    if (first !== undefined) throw new InvalidConfigurationError(`parsing ${file}: ${first.message}`);
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof InvalidConfigurationError) throw e;
    throw new InvalidConfigurationError(`parsing ${file}: ${describeError(e)}`, { cause: e });
  }
  if (data === null || data === undefined) return { file, docker: new Map() };
  if (!isPlainObject(data)) throw new InvalidConfigurationError(`${file}: a registries.d file must be a mapping (with "default-docker" and/or "docker")`);
  for (const key of Object.keys(data)) {
    if (!TOP_KEYS.has(key)) throw new InvalidConfigurationError(`${file}: unknown key ${JSON.stringify(key)} (known: default-docker, docker)`);
  }
  const dd = data["default-docker"];
  const defaultDocker = dd === null || dd === undefined ? undefined : parseNamespace(dd, file, `"default-docker"`);
  const docker = new Map<string, RegistriesDirNamespace>();
  const d = data.docker;
  if (d !== null && d !== undefined) {
    if (!isPlainObject(d)) throw new InvalidConfigurationError(`${file}: "docker" must be a mapping of namespaces`);
    for (const [ns, v] of Object.entries(d)) docker.set(ns, parseNamespace(v, file, `"docker" namespace ${JSON.stringify(ns)}`));
  }
  return defaultDocker ? { file, defaultDocker, docker } : { file, docker };
}

/**
 * Merges parsed files (in the order given) into one configuration. A
 * `default-docker` section or a `docker` namespace defined by two files is
 * an `InvalidConfigurationError` naming both.
 */
export function mergeRegistriesDirFiles(dir: string, files: readonly RegistriesDirFile[]): RegistriesDirConfig {
  let defaultDocker: RegistriesDirNamespace | undefined;
  const docker = new Map<string, RegistriesDirNamespace>();
  for (const f of files) {
    if (f.defaultDocker) {
      if (defaultDocker) {
        throw new InvalidConfigurationError(`registries.d: "default-docker" is defined both in ${defaultDocker.file} and in ${f.file}; keep one`);
      }
      defaultDocker = f.defaultDocker;
    }
    for (const [ns, section] of f.docker) {
      const earlier = docker.get(ns);
      if (earlier) {
        throw new InvalidConfigurationError(`registries.d: "docker" namespace ${JSON.stringify(ns)} is defined both in ${earlier.file} and in ${f.file}; keep one`);
      }
      docker.set(ns, section);
    }
  }
  return defaultDocker ? { dir, defaultDocker, docker } : { dir, docker };
}

/**
 * Reads and merges every `*.yaml` file of the registries.d directory of
 * `ctx` (see {@link registriesDirPath}), in name order. A missing directory
 * is an empty configuration.
 */
export async function loadRegistriesDir(ctx: SystemContext = {}, options: IoOptions = {}): Promise<RegistriesDirConfig> {
  throwIfAborted(options.signal);
  const dir = await registriesDirPath(ctx);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if (errno(e) === "ENOENT") return { dir, docker: new Map() };
    throw new InvalidConfigurationError(`cannot read the registries.d directory ${dir}: ${describeError(e)}`, { cause: e });
  }
  const files: RegistriesDirFile[] = [];
  for (const name of names.filter((n) => n.endsWith(".yaml")).sort()) {
    throwIfAborted(options.signal);
    const file = join(dir, name);
    let text: string;
    try {
      text = await readFile(file, { encoding: "utf8", ...(options.signal ? { signal: options.signal } : {}) });
    } catch (e) {
      if (errno(e) === "ENOENT") continue; // removed since the listing
      throwIfAborted(options.signal);
      throw new InvalidConfigurationError(`cannot read ${file}: ${describeError(e)}`, { cause: e });
    }
    files.push(await parseRegistriesDirFile(text, file));
  }
  return mergeRegistriesDirFiles(dir, files);
}

/** The sections that apply to `ref`, most specific first: its identity, its namespaces, then `default-docker`. */
function sectionsFor(config: RegistriesDirConfig, ref: DockerReference): { name: string; section: RegistriesDirNamespace }[] {
  const out: { name: string; section: RegistriesDirNamespace }[] = [];
  for (const name of [ref.toString(), ...dockerReferenceNamespaces(ref)]) {
    const section = config.docker.get(name);
    if (section) out.push({ name: `"docker" namespace ${JSON.stringify(name)}`, section });
  }
  if (config.defaultDocker) out.push({ name: `"default-docker"`, section: config.defaultDocker });
  return out;
}

/** Where the signatures of a repository are kept. */
export interface LookasideLocation {
  /** The base URL of the repository's signatures: `<configured URL>/<repository path>`. */
  readonly url: URL;
  /** The section it comes from (`"docker" namespace "quay.io/org"`, `"default-docker"`), or `built-in default`. */
  readonly section: string;
  /** The setting used (`lookaside`, `lookaside-staging`, `sigstore`, `sigstore-staging`); undefined for the built-in default. */
  readonly key?: string;
  /** The file of that section. */
  readonly file?: string;
}

/**
 * The built-in lookaside base when nothing is configured, for reading and
 * writing alike (as containers/image 5.23 does): `file:///var/lib/containers/sigstore`
 * (under `ctx.rootForImplicitAbsolutePaths`) when the process runs as root,
 * else `$HOME/.local/share/containers/sigstore`.
 */
export function defaultLookasideBase(ctx: SystemContext = {}): URL {
  const euid = typeof process !== "undefined" && typeof process.geteuid === "function" ? process.geteuid() : -1;
  if (euid === 0) return pathToFileURL(join(ctx.rootForImplicitAbsolutePaths ?? "/", ROOT_LOOKASIDE_DIR));
  return pathToFileURL(join(homeOf(ctx), USER_LOOKASIDE_DIR));
}

/**
 * The lookaside location of `ref`'s repository: the first section (the
 * reference's identity `name:tag`/`name@digest`, then its namespaces as
 * policy scopes, then `default-docker`) that sets a URL — for writing
 * `lookaside-staging`, `sigstore-staging`, `lookaside`, `sigstore` in this
 * order; for reading `lookaside`, `sigstore` — else the built-in default
 * ({@link defaultLookasideBase}). The repository path is appended.
 */
export function lookasideLocationFor(
  config: RegistriesDirConfig,
  ref: DockerReference,
  options: { write: boolean; ctx?: SystemContext },
): LookasideLocation {
  const keys: [keyof RegistriesDirNamespace, string][] = options.write
    ? [
        ["lookasideStaging", "lookaside-staging"],
        ["sigstoreStaging", "sigstore-staging"],
        ["lookaside", "lookaside"],
        ["sigstore", "sigstore"],
      ]
    : [
        ["lookaside", "lookaside"],
        ["sigstore", "sigstore"],
      ];
  let found: { url: URL; section: string; key?: string; file?: string } | undefined;
  outer: for (const { name, section } of sectionsFor(config, ref)) {
    for (const [field, key] of keys) {
      const v = section[field];
      if (typeof v === "string" && v !== "") {
        found = { url: new URL(v), section: name, key, file: section.file };
        break outer;
      }
    }
  }
  found ??= { url: defaultLookasideBase(options.ctx ?? {}), section: "built-in default" };
  const repo = pathOf(ref);
  if (domainOf(ref) === "" || repo === "" || repo.split("/").some((c) => c === "" || c === "." || c === "..")) {
    throw new InvalidConfigurationError(`docker reference ${ref.toString()} has an unexpected repository path for signature storage`);
  }
  found.url.pathname = `${found.url.pathname}/${repo}`;
  return found;
}

/**
 * Whether sigstore signatures of `ref` are read from and written to
 * attachments: the first section (identity, namespaces, `default-docker`)
 * that sets `use-sigstore-attachments` decides; default false.
 */
export function useSigstoreAttachmentsFor(config: RegistriesDirConfig, ref: DockerReference): boolean {
  for (const { section } of sectionsFor(config, ref)) {
    if (section.useSigstoreAttachments !== undefined) return section.useSigstoreAttachments;
  }
  return false;
}

/**
 * The URL of signature number `index` (from 1) of the manifest `digest` in a
 * repository's lookaside base: `<base>@<algorithm>=<hex>/signature-<index>`.
 */
export function lookasideSignatureURL(base: URL, digest: Digest, index: number): URL {
  const d = parseDigest(digest);
  if (!Number.isSafeInteger(index) || index < 1) throw new RangeError(`signature index must be a positive integer, got ${String(index)}`);
  const u = new URL(base);
  u.pathname = `${base.pathname}@${digestAlgorithm(d)}=${digestHex(d)}/signature-${index}`;
  return u;
}

/** The tag of the sigstore attachment manifest of `digest`: `sha256-<hex>.sig`. */
export function sigstoreAttachmentTag(digest: Digest): string {
  const d = parseDigest(digest);
  return `${digestAlgorithm(d)}-${digestHex(d)}.sig`;
}
