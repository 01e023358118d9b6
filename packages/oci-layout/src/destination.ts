import { constants } from "node:fs";
import { mkdir, open, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { OCI_INDEX_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE, guessMIMEType, matchesDigest, manifestDigest } from "@stevedore/manifest";
import {
  BlobUnknownError,
  DestinationExistsError,
  DigestMismatchError,
  InvalidArchiveError,
  InvalidReferenceError,
  ManifestTypeRejectedError,
  ManifestUnknownError,
  SizeLimitExceededError,
  SizeLimits,
  SizeMismatchError,
  StevedoreError,
  UnsupportedError,
  digestAlgorithm,
  digestHex,
  measureStream,
  parseDigest,
  streamOf,
  throwIfAborted,
  utf8,
  verifyStream,
  type BlobInfo,
  type BlobStream,
  type CommitOptions,
  type Digest,
  type ImageDestination,
  type ImageDestinationCapabilities,
  type ImageReference,
  type IoOptions,
  type PutBlobOptions,
  type ReusedBlob,
  type Signature,
  type StoredBlob,
  type TryReusingBlobOptions,
} from "@stevedore/types";
import {
  BLOBS_DIR,
  IMAGE_LAYOUT_CONTENT,
  IMAGE_LAYOUT_FILE,
  INDEX_FILE,
  emptyLayoutIndex,
  makeLayoutDescriptor,
  parseLayoutIndex,
  serializeLayoutIndex,
  withManifest,
  type LayoutDescriptor,
  type LayoutIndex,
} from "./layout-index.js";
import { acquireLayoutLock } from "./lock.js";
import { checkLayoutMarker } from "./source.js";
import { DirectoryLayoutStore } from "./store.js";
import {
  ensureRealDirectory,
  errnoCode,
  fsyncDirectory,
  lstatOrUndefined,
  moveFile,
  normalizeAbort,
  randomHex,
  removeStaleTemporaries,
  temporaryName,
  writeFileAtomic,
  BatchedFileWriter,
} from "./internal/fs.js";

/** The prefix of every temporary name Stevedore uses inside a layout or shared blob directory. */
export const TEMPORARY_PREFIX = ".stevedore-";

/** Options of {@link openLayoutDestination}. */
export interface LayoutDestinationOptions extends IoOptions {
  /** The reference the destination is opened for (returned as `destination.reference`). */
  reference: ImageReference;
  /** The layout directory (absolute). Its parent must exist; the directory itself is created at commit. */
  dir: string;
  /** The image name recorded as `org.opencontainers.image.ref.name`; none when "" or undefined. */
  image?: string;
  /** A directory of blobs shared by several layouts (`ociSharedBlobDirPath`). */
  sharedBlobDir?: string;
  /** Keep uncompressed layers uncompressed (`ociAcceptUncompressedLayers`). */
  acceptUncompressedLayers?: boolean;
  /** The transport-qualified location for messages, e.g. `oci:/srv/layout:tag`. */
  where: string;
}

/** What an OCI layout destination can do. */
export function layoutDestinationCapabilities(acceptUncompressedLayers = false): ImageDestinationCapabilities {
  return Object.freeze({
    supportedManifestMIMETypes: Object.freeze([OCI_MANIFEST_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE]),
    desiredLayerCompression: acceptUncompressedLayers ? "preserve" : "compress",
    supportsSignatures: false,
    signaturesUnsupportedReason: "OCI image layouts cannot store signatures in Stevedore (neither simple signing nor sigstore attachments are supported there)",
    acceptsForeignLayerURLs: true,
    mustMatchRuntimeOS: false,
    ignoresEmbeddedDockerReference: false,
    threadSafePutBlob: true,
  });
}

/**
 * Blobs written before commit: verified into a temporary file under
 * `<root>/.incoming`, fsync'ed, then renamed to `<base>/<alg>/<hex>` inside
 * the staging directory `root` (on the file system of their final place).
 */
class BlobStage {
  readonly staged = new Map<Digest, number>();
  /** Staged blobs already moved to their final place. */
  private readonly published = new Set<Digest>();
  private created = false;
  removed = false;

  constructor(
    readonly root: string,
    /** `root` or `root/blobs`: where `<alg>/<hex>` go. */
    readonly base: string,
    /** Where a staged blob ends up: `<finalBase>/<alg>/<hex>`. */
    readonly finalBase: string,
  ) {}

  get incoming(): string {
    return join(this.root, ".incoming");
  }

  async create(): Promise<void> {
    if (this.created) return;
    await mkdir(this.root, { mode: 0o755 });
    this.created = true;
    if (this.base !== this.root) await mkdir(this.base, { mode: 0o755 });
    await mkdir(this.incoming, { mode: 0o700 });
  }

  path(d: Digest): string {
    return join(this.base, digestAlgorithm(d), digestHex(d));
  }

  finalPath(d: Digest): string {
    return join(this.finalBase, digestAlgorithm(d), digestHex(d));
  }

  async put(stream: BlobStream, info: BlobInfo, options: { signal?: AbortSignal; onProgress?: (n: number) => void; what: string }): Promise<StoredBlob> {
    const { signal, what } = options;
    await this.create();
    const expected = info.digest === undefined ? undefined : parseDigest(info.digest);
    const tmp = join(this.incoming, randomHex(8));
    let fh: FileHandle | undefined = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    let ok = false;
    const writer = new BatchedFileWriter(fh);
    try {
      let stored: StoredBlob;
      let written = 0;
      const write = async (c: Uint8Array) => {
        await writer.push(c);
        written += c.byteLength;
        options.onProgress?.(c.byteLength);
      };
      if (expected !== undefined) {
        const checked = verifyStream(stream, { digest: expected, size: info.size }, { what, ...(signal ? { signal } : {}) });
        for await (const c of checked) await write(c);
        stored = { digest: expected, size: written };
      } else {
        const m = measureStream(stream, "sha256", signal ? { signal } : {});
        for await (const c of m.stream) {
          if (info.size >= 0 && written + c.byteLength > info.size) throw new SizeMismatchError(what, info.size, written + c.byteLength, { atLeast: true });
          await write(c);
        }
        const r = await m.result;
        if (info.size >= 0 && r.size !== info.size) throw new SizeMismatchError(`${what} (${r.digest})`, info.size, r.size);
        stored = r;
      }
      await writer.finish();
      throwIfAborted(signal);
      await fh.sync();
      await fh.chmod(0o644);
      await fh.close();
      fh = undefined;
      if (this.removed) throw new StevedoreError(`${what}: the destination was closed while the blob was being written`);
      // Not recursive: if the staging directory was removed (close()), this fails instead of recreating it.
      await mkdir(join(this.base, digestAlgorithm(stored.digest)), { mode: 0o755 }).catch((e: unknown) => {
        if (errnoCode(e) !== "EEXIST") throw e;
      });
      await rename(tmp, this.path(stored.digest));
      this.staged.set(stored.digest, stored.size);
      ok = true;
      return stored;
    } catch (e) {
      throw normalizeAbort(e, signal);
    } finally {
      await writer.settle();
      if (fh !== undefined) await fh.close().catch(() => {});
      if (!ok) await rm(tmp, { force: true });
    }
  }

  /** Moves every staged blob to its final place and fsyncs the directories that changed. */
  async publish(what: string): Promise<void> {
    const dirs = new Set<string>();
    const pending = [...this.staged.keys()].filter((d) => !this.published.has(d));
    if (pending.length > 0) await mkdir(this.finalBase, { recursive: true, mode: 0o755 });
    for (const d of pending) {
      const algDir = join(this.finalBase, digestAlgorithm(d));
      if (!dirs.has(algDir)) {
        await ensureRealDirectory(algDir, `the ${digestAlgorithm(d)} blob directory of ${what}`);
        dirs.add(algDir);
      }
      await moveFile(this.path(d), this.finalPath(d), algDir);
      this.published.add(d);
    }
    for (const d of dirs) await fsyncDirectory(d);
    if (dirs.size > 0) await fsyncDirectory(this.finalBase);
  }

  async remove(): Promise<void> {
    this.removed = true;
    if (this.created) await rm(this.root, { recursive: true, force: true });
  }
}

async function readIndexOrEmpty(store: DirectoryLayoutStore, options: IoOptions): Promise<LayoutIndex> {
  const bytes = await store.readMetadataFile(INDEX_FILE, SizeLimits.manifest, options);
  await checkLayoutMarker(store, options);
  return bytes === undefined ? emptyLayoutIndex() : parseLayoutIndex(bytes, store.dir);
}

/**
 * Opens an OCI layout directory for writing one image. Nothing is visible
 * in the layout before `commit()`:
 * - blobs are verified (digest and size) while streaming into a temporary
 *   file, fsync'ed and renamed into a staging directory — inside the layout
 *   when it exists, next to it when it does not — and `close()` without
 *   `commit()` removes the staging directory;
 * - `commit()` of a new layout completes the staging directory (oci-layout,
 *   index.json) and renames it to the layout path in one step; for an
 *   existing layout it takes the layout lock, re-reads index.json, moves the
 *   blobs in, and replaces index.json atomically (temporary file, fsync,
 *   rename, directory fsync), so concurrent writers (threads or processes)
 *   all land and none corrupts it.
 *
 * An existing index.json is read and validated here, so a broken layout
 * fails before anything is written. Temporary names left by killed
 * processes of this host are removed on open.
 */
export async function openLayoutDestination(options: LayoutDestinationOptions): Promise<LayoutImageDestination> {
  const { dir, signal, where } = options;
  throwIfAborted(signal);
  const shared = options.sharedBlobDir === "" ? undefined : options.sharedBlobDir;
  const target = new DirectoryLayoutStore(dir, shared);
  let st = await lstatOrUndefined(dir);
  if (st?.isSymbolicLink()) st = await stat(dir).catch(() => undefined);
  let stage: BlobStage;
  let existing: boolean;
  if (st !== undefined) {
    if (!st.isDirectory()) throw new DestinationExistsError(`${where}: ${dir} exists and is not a directory`);
    existing = true;
    await readIndexOrEmpty(target, { ...(signal ? { signal } : {}) });
    const blobs = await lstatOrUndefined(join(dir, BLOBS_DIR));
    if (blobs !== undefined && !blobs.isDirectory()) {
      throw new InvalidArchiveError(`${where}: ${join(dir, BLOBS_DIR)} is ${blobs.isSymbolicLink() ? "a symbolic link" : "not a directory"}; refusing to write through it`);
    }
    await removeStaleTemporaries(dir, TEMPORARY_PREFIX);
    const root = join(dir, temporaryName(`${TEMPORARY_PREFIX}staging-`));
    stage = new BlobStage(root, join(root, BLOBS_DIR), join(dir, BLOBS_DIR));
  } else {
    const parent = dirname(dir);
    const pst = await stat(parent).catch(() => undefined);
    if (pst === undefined || !pst.isDirectory()) throw new InvalidReferenceError(`${where}: the parent directory ${parent} does not exist`);
    existing = false;
    const prefix = `.${basename(dir)}.stevedore-`;
    await removeStaleTemporaries(parent, prefix);
    const root = join(parent, temporaryName(`${prefix}staging-`));
    stage = new BlobStage(root, join(root, BLOBS_DIR), join(dir, BLOBS_DIR));
  }
  await stage.create();
  let sharedStage: BlobStage | undefined;
  if (shared !== undefined) {
    const sst = await stat(shared).catch(() => undefined);
    let root: string;
    if (sst?.isDirectory()) {
      await removeStaleTemporaries(shared, TEMPORARY_PREFIX);
      root = join(shared, temporaryName(`${TEMPORARY_PREFIX}staging-`));
    } else {
      // The shared directory does not exist yet: it is created at commit, so stage its blobs
      // with the layout's (moved across file systems at commit if needed).
      root = join(stage.root, ".shared-staging");
    }
    sharedStage = new BlobStage(root, root, shared);
  }
  return new LayoutImageDestination(options, target, existing, stage, sharedStage);
}

/** An image being written to an OCI layout directory. Made by {@link openLayoutDestination}. */
export class LayoutImageDestination implements ImageDestination {
  readonly reference: ImageReference;
  readonly capabilities: ImageDestinationCapabilities;
  /** The layout directory. */
  readonly dir: string;
  private readonly image: string;
  private readonly where: string;
  private readonly target: DirectoryLayoutStore;
  private readonly existing: boolean;
  private readonly stage: BlobStage;
  private readonly sharedStage: BlobStage | undefined;
  private readonly reusedFromTarget = new Map<Digest, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private top: { mediaType: string; digest: Digest; size: number } | undefined;
  private committed = false;
  private closed = false;

  constructor(options: LayoutDestinationOptions, target: DirectoryLayoutStore, existing: boolean, stage: BlobStage, sharedStage: BlobStage | undefined) {
    this.reference = options.reference;
    this.capabilities = layoutDestinationCapabilities(options.acceptUncompressedLayers);
    this.dir = options.dir;
    this.image = options.image ?? "";
    this.where = options.where;
    this.target = target;
    this.existing = existing;
    this.stage = stage;
    this.sharedStage = sharedStage;
  }

  private get blobStage(): BlobStage {
    return this.sharedStage ?? this.stage;
  }

  private checkOpen(op: string): void {
    if (this.closed) throw new StevedoreError(`${this.where}: ${op} after close()`);
    if (this.committed) throw new StevedoreError(`${this.where}: ${op} after commit()`);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  async putBlob(stream: BlobStream, info: BlobInfo, options: PutBlobOptions): Promise<StoredBlob> {
    throwIfAborted(options.signal);
    this.checkOpen("putBlob()");
    const what = `blob ${info.digest ?? "(digest unknown)"} for ${this.where}`;
    return this.track(
      this.blobStage.put(stream, info, {
        what,
        ...(options.signal ? { signal: options.signal } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      }),
    );
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    throwIfAborted(options.signal);
    this.checkOpen("tryReusingBlob()");
    if (info.digest === undefined) return undefined;
    const digest = parseDigest(info.digest);
    if (options.requiredCompression !== undefined && info.compressionAlgorithm !== options.requiredCompression) return undefined;
    const staged = this.blobStage.staged.get(digest);
    if (staged !== undefined && (info.size < 0 || info.size === staged)) return { digest, size: staged, reason: "exists" };
    let blob;
    try {
      blob = await this.target.openBlob(digest, options);
    } catch (e) {
      if (e instanceof InvalidArchiveError) return undefined; // e.g. a symbolic link where the blob should be: write it again
      throw e;
    }
    if (blob === undefined || (info.size >= 0 && blob.size !== info.size)) return undefined;
    this.reusedFromTarget.set(digest, blob.size);
    return { digest, size: blob.size, reason: "exists" };
  }

  async putManifest(bytes: Uint8Array, instanceDigest?: Digest, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    this.checkOpen("putManifest()");
    if (bytes.byteLength > SizeLimits.manifest) {
      throw new SizeLimitExceededError(`manifest for ${this.where} is ${bytes.byteLength} bytes, larger than the limit of ${SizeLimits.manifest} bytes`);
    }
    const mimeType = guessMIMEType(bytes);
    if (mimeType !== OCI_MANIFEST_MEDIA_TYPE && mimeType !== OCI_INDEX_MEDIA_TYPE) {
      throw new ManifestTypeRejectedError(
        `${this.where}: an OCI layout stores OCI manifests and indexes only, not ${mimeType === "" ? "this manifest (unrecognised format)" : mimeType}`,
      );
    }
    let digest: Digest;
    if (instanceDigest !== undefined) {
      digest = parseDigest(instanceDigest);
      if (!matchesDigest(bytes, digest)) throw new DigestMismatchError(`manifest instance for ${this.where}`, digest, manifestDigest(bytes));
    } else {
      digest = manifestDigest(bytes);
    }
    await this.track(
      this.blobStage.put(streamOf(bytes), { digest, size: bytes.byteLength }, { what: `manifest ${digest} for ${this.where}`, ...(options.signal ? { signal: options.signal } : {}) }),
    );
    if (instanceDigest === undefined) this.top = { mediaType: mimeType, digest, size: bytes.byteLength };
  }

  async putSignatures(signatures: readonly Signature[], _instanceDigest?: Digest, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    this.checkOpen("putSignatures()");
    if (signatures.length > 0) throw new UnsupportedError(`${this.where}: ${this.capabilities.signaturesUnsupportedReason}`);
  }

  /** The index.json entry commit() adds. */
  private descriptor(): LayoutDescriptor {
    if (this.top === undefined) throw new ManifestUnknownError(`${this.where}: commit() without a manifest: call putManifest() first`);
    return makeLayoutDescriptor(this.top.mediaType, this.top.digest, this.top.size, this.image);
  }

  async commit(options: CommitOptions = {}): Promise<void> {
    const { signal } = options;
    throwIfAborted(signal);
    this.checkOpen("commit()");
    if (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const desc = this.descriptor();
    if (this.existing || !(await this.createNewLayout(desc, signal))) await this.mergeIntoLayout(desc, signal);
    this.committed = true;
    // What is left of the staging directories (empty after a merge; gone after a new layout's rename).
    await this.stage.remove().catch(() => {});
    await this.sharedStage?.remove().catch(() => {});
  }

  /** Checks that blobs found in the layout earlier are still there (a concurrent delete may have removed them). */
  private async checkReused(signal: AbortSignal | undefined): Promise<void> {
    for (const [d, size] of this.reusedFromTarget) {
      if (this.blobStage.staged.has(d)) continue;
      const b = await this.target.openBlob(d, signal ? { signal } : {});
      if (b === undefined || b.size !== size) {
        throw new BlobUnknownError(`${this.where}: blob ${d}, which was already in the layout, was removed or changed before commit (a concurrent delete?); copy the image again`);
      }
    }
  }

  /** A new layout: complete the staging directory and rename it into place. False when the layout appeared meanwhile. */
  private async createNewLayout(desc: LayoutDescriptor, signal: AbortSignal | undefined): Promise<boolean> {
    const s = this.stage;
    await rm(s.incoming, { recursive: true, force: true });
    const index = withManifest(emptyLayoutIndex(), desc);
    await writeFileAtomic(join(s.root, IMAGE_LAYOUT_FILE), s.root, s.root, utf8(IMAGE_LAYOUT_CONTENT));
    await writeFileAtomic(join(s.root, INDEX_FILE), s.root, s.root, serializeLayoutIndex(index));
    for (const alg of new Set([...s.staged.keys()].map((d) => digestAlgorithm(d)))) await fsyncDirectory(join(s.base, alg));
    await fsyncDirectory(s.base);
    await fsyncDirectory(s.root);
    await this.checkReused(signal);
    throwIfAborted(signal);
    await this.sharedStage?.publish(this.where);
    await this.sharedStage?.remove();
    try {
      await rename(s.root, this.dir);
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOTEMPTY" || code === "EEXIST") return false;
      throw e;
    }
    await fsyncDirectory(dirname(this.dir));
    return true;
  }

  /** An existing layout: under the lock, move the blobs in and replace index.json. */
  private async mergeIntoLayout(desc: LayoutDescriptor, signal: AbortSignal | undefined): Promise<void> {
    const st = await stat(this.dir).catch(() => undefined);
    if (st === undefined || !st.isDirectory()) throw new DestinationExistsError(`${this.where}: ${this.dir} is no longer a directory`);
    const lock = await acquireLayoutLock(this.dir, signal ? { signal } : {});
    try {
      // Everything that can fail is checked before the layout changes.
      const current = await readIndexOrEmpty(this.target, signal ? { signal } : {});
      const marker = await lstatOrUndefined(join(this.dir, IMAGE_LAYOUT_FILE));
      await this.checkReused(signal);
      await ensureRealDirectory(join(this.dir, BLOBS_DIR), `the blobs directory of ${this.where}`);
      const next = serializeLayoutIndex(withManifest(current, desc));
      throwIfAborted(signal);
      // From here on the commit is not cancellable: blobs first, then index.json.
      await this.sharedStage?.publish(this.where);
      await this.stage.publish(this.where);
      if (marker === undefined) await writeFileAtomic(join(this.dir, IMAGE_LAYOUT_FILE), this.dir, this.dir, utf8(IMAGE_LAYOUT_CONTENT));
      await writeFileAtomic(join(this.dir, INDEX_FILE), this.dir, this.dir, next);
    } finally {
      await lock.release();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stage.removed = true;
    if (this.sharedStage) this.sharedStage.removed = true;
    if (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await this.stage.remove();
    await this.sharedStage?.remove();
  }
}
