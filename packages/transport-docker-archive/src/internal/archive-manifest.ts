/**
 * The `manifest.json` at the top of a `docker save` archive: one item per
 * image, naming its config file, its tags and its layer files.
 */

import { InvalidArchiveError, fromUtf8 } from "@stevedore/types";

/** One image of a docker archive, as its manifest.json lists it. */
export interface ArchiveManifestItem {
  /** The archive path of the image's config (JSON). */
  readonly config: string;
  /** The tags the image was saved with, e.g. `docker.io/library/busybox:latest` or `busybox:latest`. */
  readonly repoTags: readonly string[];
  /** The archive paths of the layer tars, base layer first. */
  readonly layers: readonly string[];
}

/** The file name of the archive manifest. */
export const ARCHIVE_MANIFEST_FILE = "manifest.json";
/** The legacy (docker < 1.10) tag file, also written for compatibility. */
export const LEGACY_REPOSITORIES_FILE = "repositories";

/** A field of a JSON object, matched as Go's encoding/json does: exactly, else ignoring case. */
function field(obj: Record<string, unknown>, name: string): unknown {
  if (Object.hasOwn(obj, name)) return obj[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(obj)) if (k.toLowerCase() === lower) return obj[k];
  return undefined;
}

function stringList(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === "string")) throw new InvalidArchiveError(`${what} must be a list of strings`);
  return v as string[];
}

/** Parses and checks manifest.json; `what` names the archive in messages. */
export function parseArchiveManifest(bytes: Uint8Array, what: string): ArchiveManifestItem[] {
  let doc: unknown;
  try {
    doc = JSON.parse(fromUtf8(bytes));
  } catch (e) {
    throw new InvalidArchiveError(`${what}: manifest.json is not valid JSON`, { cause: e });
  }
  if (!Array.isArray(doc)) throw new InvalidArchiveError(`${what}: manifest.json must be a JSON list of images`);
  return doc.map((item: unknown, i) => {
    const where = `${what}: manifest.json item @${i}`;
    if (typeof item !== "object" || item === null || Array.isArray(item)) throw new InvalidArchiveError(`${where} is not an object`);
    const obj = item as Record<string, unknown>;
    const config = field(obj, "Config");
    if (typeof config !== "string" || config === "") throw new InvalidArchiveError(`${where} has no "Config" file name`);
    return {
      config,
      repoTags: stringList(field(obj, "RepoTags"), `${where}: "RepoTags"`),
      layers: stringList(field(obj, "Layers"), `${where}: "Layers"`),
    };
  });
}
