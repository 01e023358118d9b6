import { rm } from "node:fs/promises";
import { join } from "node:path";
import {
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from "@stevedore/manifest";
import {
  ImageNotFoundError,
  InvalidManifestError,
  digestAlgorithm,
  fromUtf8,
  parseDigest,
  throwIfAborted,
  type Digest,
  type IoOptions,
} from "@stevedore/types";
import { BLOBS_DIR, INDEX_FILE, selectImage, serializeLayoutIndex, withoutManifestAt, type ImageSelector, type LayoutDescriptor } from "./layout-index.js";
import { acquireLayoutLock } from "./lock.js";
import { readDescribedBlob, readLayoutIndex } from "./source.js";
import { DirectoryLayoutStore, type LayoutStore } from "./store.js";
import { fsyncDirectory, lstatOrUndefined, writeFileAtomic } from "./internal/fs.js";

const MANIFEST_TYPES = new Set([OCI_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, DOCKER_SCHEMA2_MEDIA_TYPE, DOCKER_LIST_MEDIA_TYPE, ""]);

interface Described {
  digest: Digest;
  size: number;
  mediaType: string;
}

function descriptorsIn(doc: unknown, what: string): { blobs: Described[]; children: Described[] } {
  const blobs: Described[] = [];
  const children: Described[] = [];
  if (typeof doc !== "object" || doc === null) return { blobs, children };
  const o = doc as { config?: unknown; layers?: unknown; manifests?: unknown };
  const one = (v: unknown, where: string): Described | undefined => {
    if (typeof v !== "object" || v === null) return undefined;
    const d = v as { digest?: unknown; size?: unknown; mediaType?: unknown };
    let digest: Digest;
    try {
      digest = parseDigest(d.digest);
    } catch (e) {
      throw new InvalidManifestError(`${what}: ${where}: ${(e as Error).message}`, { cause: e });
    }
    return { digest, size: typeof d.size === "number" ? d.size : -1, mediaType: typeof d.mediaType === "string" ? d.mediaType : "" };
  };
  const c = one(o.config, "config");
  if (c) blobs.push(c);
  if (Array.isArray(o.layers)) o.layers.forEach((l, i) => { const d = one(l, `layers[${i}]`); if (d) blobs.push(d); });
  if (Array.isArray(o.manifests)) o.manifests.forEach((m, i) => { const d = one(m, `manifests[${i}]`); if (d) children.push(d); });
  return { blobs, children };
}

/**
 * Every blob digest that `roots` reference in `store`: the manifests and
 * indexes themselves, recursively their instances, configs and layers. With
 * `tolerant`, a manifest that cannot be read or parsed contributes only its
 * own digest; otherwise it throws (naming the digest).
 */
export async function referencedBlobs(
  store: LayoutStore,
  roots: readonly { digest: Digest; size: number; mediaType: string }[],
  options: IoOptions & { tolerant?: boolean } = {},
): Promise<Set<Digest>> {
  const seen = new Set<Digest>();
  const visit = async (d: Described): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    if (!MANIFEST_TYPES.has(d.mediaType)) return;
    const what = `manifest ${d.digest} in ${store.location}`;
    let doc: unknown;
    try {
      const bytes = await readDescribedBlob(store, d, { ...options, what });
      doc = JSON.parse(fromUtf8(bytes));
    } catch (e) {
      if (options.tolerant) return;
      if (e instanceof SyntaxError) throw new InvalidManifestError(`${what} is not valid JSON`, { cause: e });
      throw e;
    }
    let found;
    try {
      found = descriptorsIn(doc, what);
    } catch (e) {
      if (options.tolerant) return;
      throw e;
    }
    for (const b of found.blobs) seen.add(b.digest);
    for (const c of found.children) await visit(c);
  };
  for (const r of roots) await visit(r);
  return seen;
}

/** Options of {@link deleteLayoutImage}. */
export interface DeleteLayoutImageOptions extends IoOptions {
  /** The layout directory (absolute). */
  dir: string;
  /** Which image to delete. */
  selector: ImageSelector;
  /** The shared blob directory the layout's blobs are in, if any (blobs there are never deleted). */
  sharedBlobDir?: string;
  /** The transport-qualified location for messages. */
  where: string;
}

/** What {@link deleteLayoutImage} removed. */
export interface DeletedLayoutImage {
  /** The index.json entry removed. */
  descriptor: LayoutDescriptor;
  /** The blobs removed from the layout's own blob directory. */
  deletedBlobs: Digest[];
}

/**
 * Deletes an image from a layout, as containers/image ≥ 5.29 does: its
 * entry leaves index.json (replaced atomically, under the layout lock), then
 * the blobs only it referenced are removed from the layout's `blobs`
 * directory. Blobs still referenced by any remaining entry stay, and blobs
 * in a shared blob directory are never removed (other layouts may use them).
 * The remaining entries' manifests must be readable (else nothing changes
 * and the error names the manifest); the deleted image's own manifest may
 * be missing or damaged (then only its entry and manifest file go).
 */
export async function deleteLayoutImage(options: DeleteLayoutImageOptions): Promise<DeletedLayoutImage> {
  const { dir, signal, where } = options;
  throwIfAborted(signal);
  const st = await lstatOrUndefined(dir);
  if (st === undefined) throw new ImageNotFoundError(`${where}: ${dir} does not exist`);
  const io = signal ? { signal } : {};
  const lock = await acquireLayoutLock(dir, io);
  try {
    const store = new DirectoryLayoutStore(dir, options.sharedBlobDir);
    const index = await readLayoutIndex(store, where, io);
    const { descriptor, position } = selectImage(index, options.selector, where);
    const mine = await referencedBlobs(store, [descriptor], { ...io, tolerant: true });
    const rest = index.manifests.filter((_, i) => i !== position);
    const keep = await referencedBlobs(store, rest, io);
    throwIfAborted(signal);
    await writeFileAtomic(join(dir, INDEX_FILE), dir, dir, serializeLayoutIndex(withoutManifestAt(index, position)));
    const local = new DirectoryLayoutStore(dir);
    const deleted: Digest[] = [];
    const dirs = new Set<string>();
    for (const d of mine) {
      if (keep.has(d)) continue;
      const algDir = join(dir, BLOBS_DIR, digestAlgorithm(d));
      const a = await lstatOrUndefined(join(dir, BLOBS_DIR));
      const b = await lstatOrUndefined(algDir);
      if (!a?.isDirectory() || !b?.isDirectory()) continue; // missing, or a link we never follow
      const path = local.blobPath(d);
      if ((await lstatOrUndefined(path)) === undefined) continue;
      await rm(path, { force: true });
      deleted.push(d);
      dirs.add(algDir);
    }
    for (const d of dirs) await fsyncDirectory(d);
    return { descriptor, deletedBlobs: deleted };
  } finally {
    await lock.release();
  }
}
