/**
 * containers-certs.d(5): per-registry TLS material.
 *
 * @module
 */
import { readdir, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { InvalidConfigurationError, type SystemContext } from "@stevedore/types";

/** The per-user certs.d directory, relative to the home directory. */
export const USER_CERTS_DIR = ".config/containers/certs.d";
/** The system certs.d directories, in the order they are searched. */
export const SYSTEM_CERTS_DIRS: readonly string[] = Object.freeze(["/etc/containers/certs.d", "/etc/docker/certs.d"]);

/** What a certs.d directory holds. */
export interface CertsDirContents {
  /** The directory read, or undefined when none exists. */
  readonly dir: string | undefined;
  /** `*.crt` files: CA certificates (PEM). */
  readonly cas: readonly string[];
  /** The first `*.cert` / `*.key` pair: a client certificate. */
  readonly clientCert?: { readonly cert: string; readonly key: string };
}

function isMissing(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EACCES" || code === "EPERM";
}

/**
 * The certs.d directory for `hostPort` (`host[:port]`), as containers/image
 * chooses it: `ctx.dockerCertPath` when set (used as is, for every host);
 * else `<ctx.dockerPerHostCertDirPath>/<hostPort>`; else the first existing
 * one of `~/.config/containers/certs.d/<hostPort>`,
 * `/etc/containers/certs.d/<hostPort>` and `/etc/docker/certs.d/<hostPort>`
 * (the system ones under `ctx.rootForImplicitAbsolutePaths`). Undefined
 * when none exists.
 */
export async function certsDirFor(ctx: SystemContext, hostPort: string): Promise<string | undefined> {
  if (ctx.dockerCertPath) return ctx.dockerCertPath;
  if (ctx.dockerPerHostCertDirPath) return join(ctx.dockerPerHostCertDirPath, hostPort);
  const home = ctx.homeDir ?? ctx.env?.HOME ?? homedir();
  const candidates = [join(home, USER_CERTS_DIR, hostPort)];
  for (const d of SYSTEM_CERTS_DIRS) candidates.push(join(ctx.rootForImplicitAbsolutePaths ?? "", d, hostPort));
  for (const c of candidates) {
    try {
      await stat(c);
      return c;
    } catch (e) {
      if (!isMissing(e)) throw new InvalidConfigurationError(`cannot access the certificate directory ${c}: ${String(e)}`, { cause: e });
    }
  }
  return undefined;
}

/**
 * Reads a certs.d directory: every `*.crt` is a CA; a `*.cert` needs the
 * `*.key` of the same name and the reverse (a lone one is an
 * `InvalidConfigurationError`). A missing directory is empty.
 */
export async function readCertsDir(dir: string | undefined): Promise<CertsDirContents> {
  if (dir === undefined) return { dir, cas: [] };
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch (e) {
    if (isMissing(e)) return { dir: undefined, cas: [] };
    throw new InvalidConfigurationError(`cannot read the certificate directory ${dir}: ${String(e)}`, { cause: e });
  }
  const cas: string[] = [];
  let clientCert: { cert: string; key: string } | undefined;
  const read = async (name: string) => {
    try {
      return await readFile(join(dir, name), "utf8");
    } catch (e) {
      throw new InvalidConfigurationError(`cannot read ${join(dir, name)}: ${String(e)}`, { cause: e });
    }
  };
  const set = new Set(names);
  for (const name of names) {
    if (name.endsWith(".crt")) {
      cas.push(await read(name));
    } else if (name.endsWith(".cert")) {
      const keyName = `${name.slice(0, -".cert".length)}.key`;
      if (!set.has(keyName)) {
        throw new InvalidConfigurationError(`missing key ${keyName} for client certificate ${join(dir, name)} (certs.d needs both)`);
      }
      if (clientCert === undefined) clientCert = { cert: await read(name), key: await read(keyName) };
    } else if (name.endsWith(".key")) {
      const certName = `${name.slice(0, -".key".length)}.cert`;
      if (!set.has(certName)) {
        throw new InvalidConfigurationError(`missing client certificate ${certName} for key ${join(dir, name)} (certs.d needs both)`);
      }
    }
  }
  return { dir, cas, ...(clientCert ? { clientCert } : {}) };
}
