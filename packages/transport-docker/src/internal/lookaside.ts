/**
 * Lookaside signature storage: `signature-1`, `signature-2`, … under
 * `<base>@<alg>=<hex>/`, read from `file:` or `http(s):` URLs and written
 * to `file:` URLs only.
 *
 * @module
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, rename, rm, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  decodeSignatureBlob,
  DeniedError,
  ProtocolError,
  SizeLimitExceededError,
  SizeLimits,
  throwIfAborted,
  UnauthorizedError,
  UnsupportedError,
  type Digest,
  type Signature,
} from "@stevedore/types";
import { lookasideSignatureURL, type LookasideLocation } from "../registries-d.js";
import type { RegistryClient } from "./client.js";
import { readLimitedBody } from "./limited-body.js";
import { redactURL } from "./redact.js";
import { describe } from "./util.js";

/**
 * The most signatures read from a lookaside location: a server (or
 * directory) offering more is taken as broken or malicious.
 */
export const MAX_LOOKASIDE_SIGNATURES = 128;

function errno(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | undefined)?.code;
  return typeof c === "string" ? c : undefined;
}

/** One signature blob, or undefined when it does not exist (the end of the list). */
type OneSignature = Uint8Array | undefined;

/** Reads a file of at most `limit` bytes; undefined when it does not exist. */
async function readSignatureFile(path: string, signal: AbortSignal | undefined): Promise<OneSignature> {
  throwIfAborted(signal);
  let fh: FileHandle;
  try {
    fh = await open(path, "r");
  } catch (e) {
    if (errno(e) === "ENOENT") return undefined;
    throw new ProtocolError(`reading signature ${path}: ${describe(e)}`, { cause: e });
  }
  try {
    const limit = SizeLimits.signature;
    const st = await fh.stat();
    if (!st.isFile()) throw new ProtocolError(`signature ${path} is not a regular file`);
    if (st.size > limit) throw new SizeLimitExceededError(`signature ${path} is ${st.size} bytes, larger than the limit of ${limit} bytes`);
    const buf = new Uint8Array(limit + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > limit) throw new SizeLimitExceededError(`signature ${path} is larger than the limit of ${limit} bytes`);
    }
    return buf.slice(0, n);
  } finally {
    await fh.close().catch(() => {});
  }
}

/**
 * GETs one signature over http(s), without credentials, through the
 * registry client's HTTP stack (its redirect rules, retries, idle timeout,
 * and certs.d of the lookaside's own host; TLS verification is skipped
 * only with `dockerInsecureSkipTLSVerify`, or when the lookaside is on the
 * registry's own host and that registry is insecure). 404 = the end of
 * the list. An
 * answer with `Content-Type: text/html` is taken as the end of the list too:
 * a web server's "not found" page served with 200 is the usual cause, and
 * the Go library, which only warns, would go on to hand that page to the
 * policy as a (bogus) signature.
 */
async function fetchSignature(client: RegistryClient, url: URL, signal: AbortSignal | undefined): Promise<OneSignature> {
  const res = await client.request({ method: "GET", url, auth: false, signal });
  const where = redactURL(url);
  if (res.status === 404) {
    await res.discard();
    return undefined;
  }
  if (res.status !== 200) {
    await res.discard();
    const msg = `reading signature ${where}: HTTP ${res.status}`;
    if (res.status === 401) throw new UnauthorizedError(msg);
    if (res.status === 403) throw new DeniedError(msg);
    throw new ProtocolError(msg);
  }
  const type = (res.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  if (type === "text/html") {
    await res.discard();
    return undefined;
  }
  return readLimitedBody(res, { limit: SizeLimits.signature, what: `signature ${where}`, strictLength: true, signal });
}

/** One signature by URL: `file:` from disk, `http(s):` through `client`. */
async function readOne(url: URL, client: RegistryClient, signal: AbortSignal | undefined): Promise<OneSignature> {
  if (url.protocol === "file:") return readSignatureFile(fileURLToPath(url), signal);
  if (url.protocol === "http:" || url.protocol === "https:") return fetchSignature(client, url, signal);
  throw new UnsupportedError(`cannot read signatures from ${redactURL(url)}: only file:, http: and https: lookaside URLs are supported`);
}

/**
 * The signatures of manifest `digest` at a lookaside location:
 * `signature-1`, `signature-2`, … up to the first missing one, each at most
 * 4 MiB and decoded with `decodeSignatureBlob`. More than
 * {@link MAX_LOOKASIDE_SIGNATURES} is a `SizeLimitExceededError`.
 */
export async function readLookasideSignatures(
  location: LookasideLocation,
  digest: Digest,
  client: RegistryClient,
  signal: AbortSignal | undefined,
): Promise<Signature[]> {
  const out: Signature[] = [];
  for (let i = 1; ; i++) {
    throwIfAborted(signal);
    const url = lookasideSignatureURL(location.url, digest, i);
    const blob = await readOne(url, client, signal);
    if (blob === undefined) return out;
    if (i > MAX_LOOKASIDE_SIGNATURES) {
      throw new SizeLimitExceededError(
        `the lookaside ${redactURL(location.url)} (${location.section}) has more than ${MAX_LOOKASIDE_SIGNATURES} signatures for ${digest}; assuming it is broken`,
      );
    }
    out.push(decodeSignatureBlob(blob, `signature ${redactURL(url)}`));
  }
}

/** The path of a `file:` lookaside URL, or `UnsupportedError` for anything else. */
function writablePath(url: URL, location: LookasideLocation, what: string): string {
  if (url.protocol === "file:") return fileURLToPath(url);
  const where = location.key ? `${location.section} (${location.key}${location.file ? ` in ${location.file}` : ""})` : location.section;
  throw new UnsupportedError(
    `cannot ${what} at ${redactURL(location.url)}: writing to a ${url.protocol.slice(0, -1)} lookaside is not supported; ` +
      `set "lookaside-staging: file:///<directory>" next to the lookaside of ${where} in registries.d, and publish that directory at the lookaside URL`,
  );
}

/** Throws `UnsupportedError` (naming the section and the fix) when signatures cannot be written to `location`. */
export function assertWritableLookaside(location: LookasideLocation, what: string): void {
  writablePath(location.url, location, what);
}

/** Temp files of this module: `.signature-<n>.stevedore-<pid>-<random>.tmp`. */
const TEMP_NAME = /^\.signature-\d+\.stevedore-(\d+)-[0-9a-f]+\.tmp$/;

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === "EPERM";
  }
}

/** Removes temp files left by killed writers (their process is gone) in `dir`. Best effort. */
async function removeStaleTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = TEMP_NAME.exec(n);
    if (m && !processAlive(Number(m[1]))) await rm(join(dir, n), { force: true }).catch(() => {});
  }
}

async function writeSynced(path: string, bytes: Uint8Array): Promise<void> {
  const fh = await open(path, "wx", 0o644);
  try {
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // not every filesystem syncs directories
  }
}

/**
 * Removes `signature-<from>`, `signature-<from+1>`, … of `digest` up to the
 * first one that does not exist (readers stop there too).
 */
export async function deleteLookasideSignatures(location: LookasideLocation, digest: Digest, from: number, signal: AbortSignal | undefined): Promise<void> {
  for (let i = from; ; i++) {
    throwIfAborted(signal);
    const path = writablePath(lookasideSignatureURL(location.url, digest, i), location, `delete the signatures of ${digest}`);
    try {
      await rm(path);
    } catch (e) {
      if (errno(e) === "ENOENT") return;
      throw new ProtocolError(`removing signature ${path}: ${describe(e)}`, { cause: e });
    }
  }
}

/**
 * Stores `blobs` as the signatures of `digest` (`signature-1` …), replacing
 * what was there: every file is written to a temp file in the same
 * directory, fsynced, then renamed over its name; signatures numbered
 * after the new ones are removed. Temp files of killed writers are removed
 * first. On failure the temp files are removed.
 */
export async function writeLookasideSignatures(
  location: LookasideLocation,
  digest: Digest,
  blobs: readonly Uint8Array[],
  signal: AbortSignal | undefined,
): Promise<void> {
  const paths = blobs.map((_, i) => writablePath(lookasideSignatureURL(location.url, digest, i + 1), location, `store the signatures of ${digest}`));
  if (paths.length === 0) return;
  const dir = dirname(paths[0]!);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new ProtocolError(`creating the signature directory ${dir}: ${describe(e)}`, { cause: e });
  }
  await removeStaleTemps(dir);
  const temps: string[] = [];
  try {
    for (const [i, blob] of blobs.entries()) {
      throwIfAborted(signal);
      const tmp = join(dir, `.signature-${i + 1}.stevedore-${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
      temps.push(tmp);
      await writeSynced(tmp, blob);
    }
    throwIfAborted(signal);
    for (const [i, tmp] of temps.entries()) await rename(tmp, paths[i]!);
    temps.length = 0;
  } catch (e) {
    await Promise.all(temps.map((t) => rm(t, { force: true }).catch(() => {})));
    if (e instanceof Error && errno(e) !== undefined) throw new ProtocolError(`writing signatures to ${dir}: ${describe(e)}`, { cause: e });
    throw e;
  }
  await syncDir(dir);
  await deleteLookasideSignatures(location, digest, blobs.length + 1, undefined);
}
