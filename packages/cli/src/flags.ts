import { readFileSync } from "node:fs";
import type { SystemContext } from "@stevedore/types";
import { UsageError, type OptionSpec, type ParsedValues } from "./args.js";
import type { CommandContext, GlobalOptions } from "./command.js";
import { parseDuration } from "./duration.js";

/**
 * The registry and local-format flags of one side of a command, in skopeo's
 * names: `prefix` is "src-" or "dest-" for copy, "" for inspect and friends.
 */
export function sideOptions(prefix: string, what: string): OptionSpec[] {
  const p = prefix;
  return [
    { name: `${p}creds`, type: "string", arg: "USER[:PASS]", help: `credentials for the ${what} registry` },
    { name: `${p}username`, type: "string", arg: "USER", help: `user name for the ${what} registry` },
    { name: `${p}password`, type: "string", arg: "PASS", help: `password for the ${what} registry` },
    { name: `${p}no-creds`, type: "boolean", help: `access the ${what} registry anonymously` },
    { name: `${p}authfile`, type: "string", arg: "PATH", help: `auth.json for the ${what} (default: the containers/docker auth files)` },
    { name: `${p}cert-dir`, type: "string", arg: "DIR", help: `use the certificates (*.crt, *.cert, *.key) in DIR for the ${what} registry` },
    { name: `${p}tls-verify`, type: "boolean", help: `require HTTPS and verify certificates for the ${what} registry (default true; =false also allows plain HTTP)` },
    { name: `${p}registry-token`, type: "string", arg: "TOKEN", help: `bearer token for the ${what} registry` },
    { name: `${p}shared-blob-dir`, type: "string", arg: "DIR", help: `directory of blobs shared by OCI layouts (${what})` },
    { name: `${p}trusted-token-realm`, type: "list", arg: "ORIGIN", help: `a token server on another origin that may receive the ${what} registry's credentials (repeatable)` },
  ];
}

/** Flags every registry-touching command has. */
export const commonOptions: readonly OptionSpec[] = [
  { name: "authfile", type: "string", arg: "PATH", help: "auth.json for both sides (default: the containers/docker auth files)" },
  { name: "retry-times", type: "string", arg: "N", help: "retry a failed registry operation N times (default 0)" },
  { name: "retry-delay", type: "string", arg: "DURATION", help: "delay between retries (default: exponential backoff)" },
];

function str(v: ParsedValues, name: string): string | undefined {
  const x = v[name];
  return typeof x === "string" ? x : undefined;
}

/** Splits `--creds USER[:PASS]`. */
export function parseCreds(creds: string, flag: string): { username: string; password: string } {
  const i = creds.indexOf(":");
  if (creds === "" || i === 0) throw new UsageError(`${flag}: the user name must not be empty`);
  if (i < 0) throw new UsageError(`${flag}: give the password as USER:PASS (or use --password / --password-stdin)`);
  return { username: creds.slice(0, i), password: creds.slice(i + 1) };
}

/** The SystemContext of one side of a command, from its flags and the global ones. */
export function contextFromFlags(ctx: CommandContext, prefix: string): SystemContext {
  const v = ctx.values;
  const g: GlobalOptions = ctx.global;
  const sc: SystemContext = { env: ctx.io.env };
  const creds = str(v, `${prefix}creds`);
  const user = str(v, `${prefix}username`);
  const pass = str(v, `${prefix}password`);
  if (creds !== undefined && (user !== undefined || pass !== undefined)) {
    throw new UsageError(`--${prefix}creds and --${prefix}username/--${prefix}password cannot be used together`);
  }
  if (v[`${prefix}no-creds`] === true && (creds !== undefined || user !== undefined)) {
    throw new UsageError(`--${prefix}no-creds cannot be combined with credentials`);
  }
  if (creds !== undefined) sc.dockerAuthConfig = parseCreds(creds, `--${prefix}creds`);
  else if (user !== undefined) {
    if (pass === undefined) throw new UsageError(`--${prefix}username needs --${prefix}password`);
    sc.dockerAuthConfig = { username: user, password: pass };
  } else if (pass !== undefined) throw new UsageError(`--${prefix}password needs --${prefix}username`);
  if (v[`${prefix}no-creds`] === true) sc.dockerAuthConfig = {};
  const authfile = str(v, `${prefix}authfile`) ?? str(v, "authfile") ?? ctx.io.env.REGISTRY_AUTH_FILE;
  if (authfile !== undefined) sc.authFilePath = authfile;
  const certDir = str(v, `${prefix}cert-dir`);
  if (certDir !== undefined) {
    sc.dockerCertPath = certDir;
    sc.ociCertPath = certDir;
  }
  const tls = v[`${prefix}tls-verify`];
  if (typeof tls === "boolean") {
    sc.dockerInsecureSkipTLSVerify = !tls;
    sc.ociInsecureSkipTLSVerify = !tls;
  }
  const token = str(v, `${prefix}registry-token`);
  if (token !== undefined) sc.dockerBearerRegistryToken = token;
  const shared = str(v, `${prefix}shared-blob-dir`);
  if (shared !== undefined) sc.ociSharedBlobDirPath = shared;
  const realms = v[`${prefix}trusted-token-realm`];
  if (Array.isArray(realms) && realms.length > 0) sc.dockerTrustedTokenRealms = realms;
  const retries = str(v, "retry-times");
  if (retries !== undefined) {
    const n = Number(retries);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`--retry-times: "${retries}" is not a non-negative integer`);
    sc.retryTimes = n;
  }
  const delay = str(v, "retry-delay");
  if (delay !== undefined) sc.retryDelayMs = parseDuration(delay);
  if (g.registriesConf !== undefined) sc.systemRegistriesConfPath = g.registriesConf;
  if (g.registriesD !== undefined) sc.registriesDirPath = g.registriesD;
  if (g.policy !== undefined) sc.signaturePolicyPath = g.policy;
  if (g.overrideArch !== undefined) sc.architectureChoice = g.overrideArch;
  if (g.overrideOS !== undefined) sc.osChoice = g.overrideOS;
  if (g.overrideVariant !== undefined) sc.variantChoice = g.overrideVariant;
  if (g.tmpdir !== undefined) sc.bigFilesTemporaryDir = g.tmpdir;
  const userAgent = `stevedore/${ctx.version}`;
  sc.dockerRegistryUserAgent = userAgent;
  return sc;
}

/** Reads a passphrase or password file: its first line, without the newline. */
export function readSecretFile(path: string, flag: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
  const nl = text.indexOf("\n");
  return nl < 0 ? text : text.slice(0, nl);
}
