import { createHash } from "node:crypto";
import { digestHex, parseDigest, type Digest } from "@stevedore/types";

/** The content of the `version` file of a directory written by this transport. */
export const DIRECTORY_TRANSPORT_VERSION = "Directory Transport Version: 1.1\n";

/** The version file's name. */
export const VERSION_FILE = "version";

/** The top-level manifest's file name. */
export const MANIFEST_FILE = "manifest.json";

/** The file name of a blob: the digest's hex (any algorithm, as containers/image). Validates first. */
export function blobFileName(digest: string): string {
  return digestHex(parseDigest(digest));
}

/** The file name of the manifest of `instance` (or the top-level one). Validates first. */
export function manifestFileName(instance?: string): string {
  return instance === undefined ? MANIFEST_FILE : `${digestHex(parseDigest(instance))}.manifest.json`;
}

/** The file name of signature number `index` (0-based) of `instance` (or the top-level image). Validates first. */
export function signatureFileName(index: number, instance?: Digest | string): string {
  return instance === undefined ? `signature-${index + 1}` : `${digestHex(parseDigest(instance))}.signature-${index + 1}`;
}

/** Staging directories of a destination inside an existing target: `.stevedore-staging-<pid>-<random>`. */
export const INNER_STAGING = /^\.stevedore-staging-(\d+)-[0-9a-f]+$/;

/** The name of a staging directory inside the target. */
export function innerStagingName(pid: number, random: string): string {
  return `.stevedore-staging-${pid}-${random}`;
}

/** The target's name as used in a sibling staging name: shortened (with a hash) so that the name stays within NAME_MAX. */
function stagingBase(base: string): string {
  return base.length <= 100 ? base : `${base.slice(0, 80)}-${createHash("sha256").update(base).digest("hex").slice(0, 16)}`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Staging directories of a destination beside a target that does not exist yet: `.<name>.stevedore-staging-<pid>-<random>`. */
export function siblingStagingPattern(base: string): RegExp {
  return new RegExp(`^\\.${escapeRegExp(stagingBase(base))}\\.stevedore-staging-(\\d+)-[0-9a-f]+$`);
}

/** The name of a staging directory beside the target. */
export function siblingStagingName(base: string, pid: number, random: string): string {
  return `.${stagingBase(base)}.stevedore-staging-${pid}-${random}`;
}
