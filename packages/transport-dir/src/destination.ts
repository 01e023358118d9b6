import { constants, type Stats } from "node:fs";
import { lstat, mkdir, open, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import process from "node:process";
import { matchesDigest } from "@stevedore/manifest";
import {
  DestinationExistsError,
  DigestMismatchError,
  InternalError,
  InvalidConfigurationError,
  SizeLimitExceededError,
  SizeLimits,
  SizeMismatchError,
  createDigester,
  digestAlgorithm,
  encodeSignatureBlob,
  imageName,
  measureStream,
  parseDigest,
  throwIfAborted,
  verifyStream,
  type BlobInfo,
  type BlobStream,
  type CommitOptions,
  type DesiredLayerCompression,
  type Digest,
  type ImageDestination,
  type ImageDestinationCapabilities,
  type IoOptions,
  type PutBlobOptions,
  type ReusedBlob,
  type Signature,
  type StoredBlob,
  type SystemContext,
  type TryReusingBlobOptions,
} from "@stevedore/types";
import { NotImageDirectoryError } from "./errors.js";
import type { DirReference } from "./transport.js";
import {
  errnoCode,
  isNotFound,
  randomSuffix,
  removeDeadStaging,
  syncDir,
  writeAll,
  writeNewFileSynced,
} from "./internal/fs.js";
import {
  DIRECTORY_TRANSPORT_VERSION,
  INNER_STAGING,
  MANIFEST_FILE,
  VERSION_FILE,
  blobFileName,
  innerStagingName,
  manifestFileName,
  signatureFileName,
  siblingStagingName,
  siblingStagingPattern,
} from "./internal/layout.js";
import { utf8 } from "@stevedore/types";

/** What kind of file a staged name is; decides the order of the moves at commit. */
type Kind = "blob" | "instance-manifest" | "signature" | "manifest" | "version";
const ORDER: readonly Kind[] = ["version", "blob", "instance-manifest", "signature", "manifest"];

/**
 * How the destination writes:
 * - `new`: the target does not exist. Everything is written into a sibling
 *   staging directory `.<name>.stevedore-staging-<pid>-<random>` which
 *   `commit()` renames to the target: the image appears whole or not at all.
 * - `in-place`: the target exists (empty, or holding an earlier image).
 *   Everything is written into `<target>/.stevedore-staging-<pid>-<random>/`;
 *   `commit()` renames the files into the target one by one, the top-level
 *   `manifest.json` last, then removes what the new image does not use.
 */
type Mode = "new" | "in-place";

class DirImageDestination implements ImageDestination {
  readonly reference: DirReference;
  readonly capabilities: ImageDestinationCapabilities;
  readonly #target: string;
  readonly #mode: Mode;
  readonly #staging: string;
  /** Staged file name → kind. */
  readonly #staged = new Map<string, Kind>();
  /** Blob digests stored in staging. */
  readonly #blobs = new Map<string, number>();
  /** Files of the existing image that the new image reuses as they are. */
  readonly #kept = new Set<string>();
  /** Signature file prefix → how many are staged. */
  readonly #signatureCounts = new Map<string, number>();
  #state: "open" | "committing" | "committed" | "closed" = "open";

  constructor(ref: DirReference, target: string, mode: Mode, staging: string, compression: DesiredLayerCompression) {
    this.reference = ref;
    this.#target = target;
    this.#mode = mode;
    this.#staging = staging;
    this.capabilities = Object.freeze({
      supportedManifestMIMETypes: Object.freeze([]) as readonly string[],
      desiredLayerCompression: compression,
      supportsSignatures: true,
      acceptsForeignLayerURLs: false,
      mustMatchRuntimeOS: false,
      ignoresEmbeddedDockerReference: false,
      threadSafePutBlob: true,
    });
  }

  get #name(): string {
    return imageName(this.reference);
  }

  #assertOpen(op: string): void {
    if (this.#state !== "open") throw new InternalError(`${op} on the destination ${this.#name} after it was ${this.#state}`);
  }

  async putBlob(stream: BlobStream, info: BlobInfo, options: PutBlobOptions): Promise<StoredBlob> {
    this.#assertOpen("putBlob()");
    const { signal } = options;
    throwIfAborted(signal);
    const expected = info.digest === undefined ? undefined : parseDigest(info.digest);
    const what = `blob ${expected ?? "(digest not given)"} for ${this.#name}`;
    const tmp = join(this.#staging, `.tmp-blob-${randomSuffix()}`);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    let handleOpen = true;
    try {
      const onBytes = options.onProgress;
      let body: BlobStream;
      let measured: Promise<{ digest: Digest; size: number }> | undefined;
      if (expected !== undefined) {
        body = verifyStream(stream, { digest: expected, size: info.size }, { what, ...(signal ? { signal } : {}), ...(onBytes ? { onBytes } : {}) });
      } else {
        const m = measureStream(stream, "sha256", { what, ...(signal ? { signal } : {}), ...(onBytes ? { onBytes } : {}) });
        body = m.stream;
        measured = m.result;
      }
      let size = 0;
      for await (const chunk of body) {
        throwIfAborted(signal);
        size += chunk.byteLength;
        if (expected === undefined && info.size >= 0 && size > info.size) {
          throw new SizeMismatchError(what, info.size, size, { atLeast: true });
        }
        await writeAll(fh, chunk);
      }
      let digest: Digest;
      if (expected !== undefined) digest = expected;
      else {
        const m = await measured!;
        if (info.size >= 0 && m.size !== info.size) throw new SizeMismatchError(`blob ${m.digest} for ${this.#name}`, info.size, m.size);
        digest = m.digest;
      }
      throwIfAborted(signal);
      await fh.sync();
      await fh.chmod(0o644);
      handleOpen = false;
      await fh.close();
      this.#assertOpen("putBlob()");
      const name = blobFileName(digest);
      await rename(tmp, join(this.#staging, name));
      this.#staged.set(name, "blob");
      this.#blobs.set(digest, size);
      return { digest, size };
    } catch (e) {
      if (handleOpen) await fh.close().catch(() => {});
      await rm(tmp, { force: true }).catch(() => {});
      throw e;
    }
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    this.#assertOpen("tryReusingBlob()");
    throwIfAborted(options.signal);
    if (info.digest === undefined) throw new InternalError(`tryReusingBlob() needs a digest (${this.#name})`);
    const digest = parseDigest(info.digest);
    // Only the exact blob is ever reused; with a required compression it must be known to have it.
    if (options.requiredCompression !== undefined && info.compressionAlgorithm !== options.requiredCompression) return undefined;
    const staged = this.#blobs.get(digest);
    if (staged !== undefined) {
      if (info.size >= 0 && info.size !== staged) return undefined;
      return { digest, size: staged, reason: "exists" };
    }
    if (this.#mode !== "in-place") return undefined;
    const name = blobFileName(digest);
    const path = join(this.#target, name);
    let st: Stats;
    try {
      st = await lstat(path);
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
    if (!st.isFile() || (info.size >= 0 && st.size !== info.size)) return undefined;
    // The file belongs to the image being replaced: check its content before keeping it.
    if (!(await fileHasDigest(path, digest, options.signal))) return undefined;
    this.#kept.add(name);
    return { digest, size: st.size, reason: "exists" };
  }

  async putManifest(bytes: Uint8Array, instanceDigest?: Digest, options: IoOptions = {}): Promise<void> {
    this.#assertOpen("putManifest()");
    throwIfAborted(options.signal);
    if (bytes.byteLength > SizeLimits.manifest) {
      throw new SizeLimitExceededError(`the manifest for ${this.#name} is ${bytes.byteLength} bytes, larger than the limit of ${SizeLimits.manifest} bytes`);
    }
    let name: string;
    if (instanceDigest !== undefined) {
      const d = parseDigest(instanceDigest);
      if (!matchesDigest(bytes, d)) {
        const actual = createDigester(digestAlgorithm(d));
        actual.update(bytes);
        throw new DigestMismatchError(`the manifest of instance ${d} for ${this.#name}`, d, actual.digest());
      }
      name = manifestFileName(d);
      await this.#stageFile(name, bytes, "instance-manifest");
    } else {
      name = MANIFEST_FILE;
      await this.#stageFile(name, bytes, "manifest");
    }
  }

  async putSignatures(signatures: readonly Signature[], instanceDigest?: Digest, options: IoOptions = {}): Promise<void> {
    this.#assertOpen("putSignatures()");
    throwIfAborted(options.signal);
    const instance = instanceDigest === undefined ? undefined : parseDigest(instanceDigest);
    const key = instance ?? "";
    const before = this.#signatureCounts.get(key) ?? 0;
    for (let i = signatures.length; i < before; i++) {
      const name = signatureFileName(i, instance);
      await rm(join(this.#staging, name), { force: true });
      this.#staged.delete(name);
    }
    this.#signatureCounts.set(key, 0);
    for (const [i, sig] of signatures.entries()) {
      throwIfAborted(options.signal);
      const blob = encodeSignatureBlob(sig);
      if (blob.byteLength > SizeLimits.signature) {
        throw new SizeLimitExceededError(`signature ${i + 1} for ${this.#name} is ${blob.byteLength} bytes, larger than the limit of ${SizeLimits.signature} bytes`);
      }
      await this.#stageFile(signatureFileName(i, instance), blob, "signature");
      this.#signatureCounts.set(key, i + 1);
    }
  }

  /** Writes `name` into the staging directory (replacing an earlier staged version), fsynced. */
  async #stageFile(name: string, bytes: Uint8Array, kind: Kind): Promise<void> {
    const tmp = join(this.#staging, `.tmp-${randomSuffix()}`);
    await writeNewFileSynced(tmp, bytes);
    try {
      await rename(tmp, join(this.#staging, name));
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => {});
      throw e;
    }
    this.#staged.set(name, kind);
  }

  /**
   * Makes the image visible. In `new` mode: one rename of the staging
   * directory to the target (atomic). In `in-place` mode: renames of each
   * staged file into the target (`version`, blobs, instance manifests,
   * signatures, then `manifest.json`), an fsync of the directory, then the
   * removal of the files of the previous image that the new one does not
   * use. Cancelling is checked before the first rename, not after.
   */
  async commit(options: CommitOptions = {}): Promise<void> {
    this.#assertOpen("commit()");
    throwIfAborted(options.signal);
    if (this.#staged.get(MANIFEST_FILE) !== "manifest") {
      throw new InternalError(`commit() of ${this.#name} before putManifest(): there is no image to commit`);
    }
    await this.#stageFile(VERSION_FILE, utf8(DIRECTORY_TRANSPORT_VERSION), "version");
    await syncDir(this.#staging);
    throwIfAborted(options.signal);
    this.#state = "committing";
    try {
      if (this.#mode === "new") await this.#commitNew();
      else await this.#commitInPlace();
      this.#state = "committed";
    } catch (e) {
      this.#state = "open";
      throw e;
    }
  }

  async #commitNew(): Promise<void> {
    try {
      await rename(this.#staging, this.#target);
    } catch (e) {
      const code = errnoCode(e);
      if (code === "ENOTEMPTY" || code === "EEXIST" || code === "ENOTDIR" || code === "EISDIR") {
        throw new DestinationExistsError(`${this.#name}: ${this.#target} was created by someone else while the image was being written; nothing was changed, write again`, { cause: e });
      }
      throw e;
    }
    await syncDir(dirname(this.#target));
  }

  async #commitInPlace(): Promise<void> {
    const target = this.#target;
    const names = [...this.#staged.entries()].sort((a, b) => ORDER.indexOf(a[1]) - ORDER.indexOf(b[1]));
    // A directory where a file must go cannot belong to a readable image: clear it first.
    for (const [name] of names) {
      try {
        const st = await lstat(join(target, name));
        if (st.isDirectory()) await rm(join(target, name), { recursive: true, force: true });
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    for (const [name] of names) await rename(join(this.#staging, name), join(target, name));
    await syncDir(target);
    // The new image is in place: remove what only the old one used.
    const keep = new Set<string>([...this.#staged.keys(), ...this.#kept, VERSION_FILE]);
    const ownStaging = basename(this.#staging);
    for (const entry of await readdir(target)) {
      if (keep.has(entry) || entry === ownStaging) continue;
      const m = INNER_STAGING.exec(entry);
      if (m) continue; // another writer's staging directory; left to it (or to the next writer when it is dead)
      await rm(join(target, entry), { recursive: true, force: true });
    }
    await rm(this.#staging, { recursive: true, force: true });
    await syncDir(target);
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const committed = this.#state === "committed";
    this.#state = "closed";
    // Retries cover a putBlob() still creating its temporary file while the directory is removed.
    if (!committed) await rm(this.#staging, { recursive: true, force: true, maxRetries: 5 });
  }
}

async function fileHasDigest(path: string, digest: Digest, signal?: AbortSignal): Promise<boolean> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const d = createDigester(digestAlgorithm(digest));
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      throwIfAborted(signal);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      d.update(buf.subarray(0, bytesRead));
    }
    return d.digest() === digest;
  } finally {
    await fh.close().catch(() => {});
  }
}

function desiredCompression(ctx: SystemContext | undefined): DesiredLayerCompression {
  if (ctx?.dirForceCompress && ctx.dirForceDecompress) {
    throw new InvalidConfigurationError("dirForceCompress and dirForceDecompress cannot both be set: layers cannot be compressed and decompressed at the same time");
  }
  if (ctx?.dirForceCompress) return "compress";
  if (ctx?.dirForceDecompress) return "decompress";
  return "preserve";
}

async function readVersion(path: string): Promise<string | undefined> {
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    if (errnoCode(e) === "ELOOP") return "(a symbolic link)";
    throw e;
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return "(not a regular file)";
    if (st.size > 1024) return "(too large)";
    const buf = new Uint8Array(st.size);
    await fh.read(buf, 0, buf.length, 0);
    return new TextDecoder().decode(buf);
  } finally {
    await fh.close().catch(() => {});
  }
}

/** Opens a `dir:` destination; see {@link DirReference.newImageDestination}. */
export async function openDirDestination(ref: DirReference, ctx?: SystemContext, options: IoOptions = {}): Promise<ImageDestination> {
  throwIfAborted(options.signal);
  const compression = desiredCompression(ctx);
  const target = resolve(ref.path);
  const name = imageName(ref);
  let st: Stats | undefined;
  try {
    st = await stat(target);
  } catch (e) {
    if (!isNotFound(e)) throw e;
    // A dangling symbolic link is not "absent".
    const l = await lstat(target).catch(() => undefined);
    if (l !== undefined) throw new DestinationExistsError(`${name}: ${target} is a symbolic link to nothing; remove it or write elsewhere`);
  }
  const pid = process.pid;
  if (st === undefined) {
    const parent = dirname(target);
    const base = basename(target);
    await removeDeadStaging(parent, siblingStagingPattern(base));
    const staging = join(parent, siblingStagingName(base, pid, randomSuffix()));
    await mkdir(staging, { mode: 0o755 });
    return new DirImageDestination(ref, target, "new", staging, compression);
  }
  if (!st.isDirectory()) throw new DestinationExistsError(`${name}: ${target} exists and is not a directory`);
  const { live } = await removeDeadStaging(target, INNER_STAGING);
  const entries = (await readdir(target)).filter((e) => !live.includes(e));
  if (entries.length > 0) {
    const version = await readVersion(join(target, VERSION_FILE));
    if (version === undefined) throw new NotImageDirectoryError(target, "it is not empty and has no version file");
    if (version !== DIRECTORY_TRANSPORT_VERSION) {
      throw new NotImageDirectoryError(target, `its version file says ${JSON.stringify(version.slice(0, 80))}, not ${JSON.stringify(DIRECTORY_TRANSPORT_VERSION)}`);
    }
  }
  const staging = join(target, innerStagingName(pid, randomSuffix()));
  await mkdir(staging, { mode: 0o700 });
  return new DirImageDestination(ref, target, "in-place", staging, compression);
}
