import { randomUUID } from "node:crypto";
import { chmod, mkdir, open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { InvalidConfigurationError, throwIfAborted, type AuthConfig } from "@stevedore/types";
import type { AuthFilePath } from "../paths.js";
import { errorCode } from "./env.js";

/** One `auths` entry; fields other than these two are kept as they are. */
export type AuthEntry = { auth?: string; identitytoken?: string } & Record<string, unknown>;

/** The parts of an auth file that matter, plus the whole object for faithful rewriting. */
export interface AuthFileContents {
  /** The parsed top-level object (for the legacy format, the entries themselves). */
  readonly raw: Record<string, unknown>;
  /** Registry/repository key → entry. */
  readonly auths: Record<string, AuthEntry>;
  /** Registry → credential helper name (not in the legacy format). */
  readonly credHelpers: Record<string, string>;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function bad(path: string, problem: string): InvalidConfigurationError {
  return new InvalidConfigurationError(`auth file ${path}: ${problem}`);
}

function checkAuths(path: string, field: string, value: unknown): Record<string, AuthEntry> {
  if (!isObject(value)) throw bad(path, `${field} must be an object`);
  for (const [key, entry] of Object.entries(value)) {
    const where = `${field}[${JSON.stringify(key)}]`;
    if (!isObject(entry)) throw bad(path, `${where} must be an object`);
    for (const f of ["auth", "identitytoken"]) {
      if (Object.hasOwn(entry, f) && typeof entry[f] !== "string") throw bad(path, `${where}.${f} must be a string`);
    }
  }
  return value as Record<string, AuthEntry>;
}

/**
 * Parses auth file text. Errors name the file and the field, never a value:
 * JSON parser messages quote the text, which holds secrets, so they are not
 * passed on.
 */
export function parseAuthFile(path: AuthFilePath, text: string): AuthFileContents {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad(path.path, "is not valid JSON");
  }
  if (!isObject(parsed)) throw bad(path.path, "must hold a JSON object");
  if (path.legacyFormat) return { raw: parsed, auths: checkAuths(path.path, "the top-level object", parsed), credHelpers: {} };
  const auths = Object.hasOwn(parsed, "auths") && parsed.auths !== null ? checkAuths(path.path, '"auths"', parsed.auths) : {};
  let credHelpers: Record<string, string> = {};
  if (Object.hasOwn(parsed, "credHelpers") && parsed.credHelpers !== null) {
    const ch = parsed.credHelpers;
    if (!isObject(ch)) throw bad(path.path, '"credHelpers" must be an object');
    for (const [registry, helper] of Object.entries(ch)) {
      if (typeof helper !== "string" || helper === "" || /[/\\\0]/.test(helper)) {
        throw bad(path.path, `"credHelpers"[${JSON.stringify(registry)}] must be a credential helper name`);
      }
    }
    credHelpers = ch as Record<string, string>;
  }
  return { raw: parsed, auths, credHelpers };
}

/** Reads and parses an auth file; `undefined` when it does not exist. */
export async function readAuthFile(path: AuthFilePath, signal?: AbortSignal): Promise<AuthFileContents | undefined> {
  let text: string;
  try {
    text = await readFile(path.path, { encoding: "utf8", signal });
  } catch (e) {
    throwIfAborted(signal);
    if (errorCode(e) === "ENOENT" || errorCode(e) === "ENOTDIR") return undefined;
    throw new InvalidConfigurationError(`auth file ${path.path} cannot be read: ${(e as Error).message}`, { cause: e });
  }
  return parseAuthFile(path, text);
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes an entry: `auth` is base64 of `user:password` (NULs around the
 * password are dropped), `identitytoken` rides along. An entry without a
 * usable `auth` (empty, or no `:`) yields `undefined`, as docker does.
 */
export function decodeAuthEntry(path: string, key: string, entry: AuthEntry): AuthConfig | undefined {
  const encoded = (entry.auth ?? "").replace(/[\r\n]/g, "");
  if (!BASE64.test(encoded)) throw bad(path, `the "auth" field of ${JSON.stringify(key)} is not valid base64`);
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return undefined;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1).replace(/^\0+|\0+$/g, "");
  const identityToken = entry.identitytoken ?? "";
  if (username === "" && password === "" && identityToken === "") return undefined;
  return identityToken === "" ? { username, password } : { username, password, identityToken };
}

/** `base64(user:password)` as auth files store it. */
export function encodeAuth(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, "utf8").toString("base64");
}

/**
 * Replaces `path` with `data` atomically: written to a temporary file in the
 * same directory with mode 0600, flushed, renamed over `path`. A failure
 * removes the temporary file. Missing parent directories are created 0700.
 */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(data, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await chmod(tmp, 0o600);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}
