import { createReadStream } from "node:fs";
import { chmod, link, lstat, mkdtemp, open, realpath, rename, rm, stat, unlink, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { DOCKER_SCHEMA2_MEDIA_TYPE, parseManifest } from "@stevedore/manifest";
import { isDigested, parseNormalizedNamed, tagNameOnly, type NamedTagged } from "@stevedore/reference";
import {
  AbortError,
  BlobUnknownError,
  DestinationExistsError,
  InvalidManifestError,
  InvalidReferenceError,
  ManifestTypeRejectedError,
  SizeLimits,
  SizeMismatchError,
  StevedoreError,
  UnsupportedCapabilityError,
  UnsupportedError,
  digestHex,
  digestOf,
  drain,
  measureStream,
  parseDigest,
  readAll,
  throwIfAborted,
  utf8,
  verifyStream,
  type BlobInfo,
  type BlobStream,
  type CommitOptions,
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
import { ARCHIVE_MANIFEST_FILE, LEGACY_REPOSITORIES_FILE } from "./internal/archive-manifest.js";
import { legacyLayers } from "./internal/legacy.js";
import { TarAppender } from "./internal/tar-writer.js";
import { removeDeadLeftovers, tempNameFor } from "./internal/temp.js";
import type { DockerArchiveReference } from "./transport.js";

/** How the finished archive reaches the target. */
type Target =
  /** Nothing there yet: hard-link (no clobber) or rename the temp file into place. */
  | { kind: "new"; path: string }
  /** An empty regular file: replaced by rename, keeping its permission bits. */
  | { kind: "empty-file"; path: string; mode: number }
  /** A FIFO or character device (e.g. /dev/stdout): the archive is streamed into it at commit. */
  | { kind: "stream"; path: string };

/** A blob stored in the archive. */
interface StoredEntry {
  readonly name: string;
  readonly size: number;
  readonly dataOffset: number;
}

class DuplicateBlob extends Error {
  constructor(readonly digest: Digest) {
    super("duplicate blob");
  }
}

function errno(e: unknown): string | undefined {
  return typeof e === "object" && e !== null ? ((e as { code?: unknown }).code as string | undefined) : undefined;
}

/** Parses `ctx.dockerArchiveAdditionalTags` and the reference's tag into `name:tag` strings (deduplicated). */
function repoTagsFor(ref: DockerArchiveReference, ctx: SystemContext | undefined): string[] {
  const tags: NamedTagged[] = [];
  if (ref.namedTagged) tags.push(ref.namedTagged);
  for (const t of ctx?.dockerArchiveAdditionalTags ?? []) {
    let named;
    try {
      named = parseNormalizedNamed(t);
    } catch (e) {
      throw new InvalidReferenceError(`invalid additional docker-archive tag "${t}": ${(e as Error).message}`, { cause: e });
    }
    if (isDigested(named)) throw new InvalidReferenceError(`invalid additional docker-archive tag "${t}": digest references are not supported`);
    tags.push(tagNameOnly(named) as NamedTagged);
  }
  // As the Go library writes them: fully qualified `name:tag`.
  return [...new Set(tags.map((t) => `${t.name}:${t.tag}`))];
}

/** Decides how the archive will be published at `path`, refusing what must not be overwritten. */
async function examineTarget(path: string, what: string): Promise<Target> {
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (errno(e) !== "ENOENT") throw new StevedoreError(`cannot examine ${what}: ${(e as Error).message}`, { cause: e });
    const dir = dirname(path);
    let dst;
    try {
      dst = await stat(dir);
    } catch (e2) {
      throw new InvalidReferenceError(`cannot write ${what}: the directory "${dir}" does not exist`, { cause: e2 });
    }
    if (!dst.isDirectory()) throw new InvalidReferenceError(`cannot write ${what}: "${dir}" is not a directory`);
    return { kind: "new", path };
  }
  if (st.isSymbolicLink()) {
    let real;
    try {
      real = await realpath(path);
    } catch (e) {
      throw new DestinationExistsError(`cannot write ${what}: "${path}" is a symbolic link that leads nowhere; remove it or choose another path`, { cause: e });
    }
    return examineTarget(real, what);
  }
  if (st.isFile()) {
    if (st.size !== 0) {
      throw new DestinationExistsError(`docker-archive doesn't support modifying existing images: ${what} already exists and is not empty; remove it or choose another path`);
    }
    return { kind: "empty-file", path, mode: st.mode & 0o7777 };
  }
  if (st.isDirectory()) throw new DestinationExistsError(`cannot write ${what}: "${path}" is a directory`);
  if (st.isFIFO() || st.isCharacterDevice()) return { kind: "stream", path };
  throw new DestinationExistsError(`cannot write ${what}: "${path}" is neither a regular file nor a pipe`);
}

async function syncDir(dir: string): Promise<void> {
  try {
    const d = await open(dir, "r");
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // Not every file system lets a directory be fsync'ed; the rename is done either way.
  }
}

/** Checks the length of a stream whose digest is not known in advance. */
async function* checkLength(stream: BlobStream, expected: number, what: string): BlobStream {
  let n = 0;
  for await (const c of stream) {
    n += c.byteLength;
    if (expected >= 0 && n > expected) throw new SizeMismatchError(what, expected, n, { atLeast: true });
    yield c;
  }
  if (expected >= 0 && n !== expected) throw new SizeMismatchError(what, expected, n);
}

/**
 * Writes one image as a `docker save` archive (the layout the Go library
 * writes, which `docker load`, skopeo and containerd import read): layers as
 * `<hex>.tar`, the config as `<hex>.json`, `manifest.json`, `repositories`,
 * and legacy `<id>/{VERSION,json,layer.tar→../<hex>.tar}` directories. The
 * archive is written to a temp file next to the target and renamed into
 * place at commit.
 */
class DockerArchiveImageDestination implements ImageDestination {
  readonly reference: DockerArchiveReference;
  readonly capabilities: ImageDestinationCapabilities = Object.freeze({
    supportedManifestMIMETypes: Object.freeze([DOCKER_SCHEMA2_MEDIA_TYPE]),
    desiredLayerCompression: "decompress",
    supportsSignatures: false,
    signaturesUnsupportedReason: "docker-archive: archives cannot store signatures",
    acceptsForeignLayerURLs: false,
    mustMatchRuntimeOS: false,
    ignoresEmbeddedDockerReference: false,
    threadSafePutBlob: false,
  } satisfies ImageDestinationCapabilities);

  readonly #what: string;
  readonly #target: Target;
  readonly #repoTags: readonly string[];
  /** The temp file the archive is written to. */
  readonly #tempPath: string;
  /** A temp directory to remove with it (stream targets), else undefined. */
  readonly #tempDir: string | undefined;
  #fh: FileHandle | undefined;
  readonly #tar: TarAppender;
  readonly #blobs = new Map<Digest, StoredEntry>();
  readonly #configs = new Map<Digest, Uint8Array>();
  #manifest: { config: Digest; layers: Digest[] } | undefined;
  #state: "open" | "committed" | "failed" | "closed" = "open";
  /** Serialises every operation that touches the file. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(reference: DockerArchiveReference, what: string, target: Target, repoTags: string[], tempPath: string, tempDir: string | undefined, fh: FileHandle) {
    this.reference = reference;
    this.#what = what;
    this.#target = target;
    this.#repoTags = repoTags;
    this.#tempPath = tempPath;
    this.#tempDir = tempDir;
    this.#fh = fh;
    this.#tar = new TarAppender(fh);
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #checkOpen(): void {
    if (this.#state !== "open") {
      throw new StevedoreError(`${this.#what}: the destination is ${this.#state === "failed" ? "unusable after a failed commit" : this.#state}`);
    }
  }

  async putBlob(stream: BlobStream, info: BlobInfo, options: PutBlobOptions): Promise<StoredBlob> {
    const signal = options.signal;
    throwIfAborted(signal);
    this.#checkOpen();
    // Validated before it is used to build an entry name.
    const expected = info.digest === undefined ? undefined : parseDigest(info.digest);
    return this.#serial(async () => {
      throwIfAborted(signal);
      this.#checkOpen();
      const what = `blob ${expected ?? "(digest not given)"} written to ${this.#what}`;
      const onBytes = options.onProgress;
      if (expected !== undefined) {
        const have = this.#blobs.get(expected);
        if (have) {
          // Already in the archive. Still read (and check) the stream: a caller may be
          // computing something from it on the side and wait for its end.
          await drain(verifyStream(stream, { digest: expected, size: info.size }, { what, signal }));
          return { digest: expected, size: have.size };
        }
      }
      if (options.isConfig) {
        const checked =
          expected !== undefined
            ? verifyStream(stream, { digest: expected, size: info.size }, { what, signal, ...(onBytes ? { onBytes } : {}) })
            : checkLength(stream, info.size, what);
        const bytes = await readAll(checked, { limit: SizeLimits.config, what: `the config ${what}`, signal });
        const digest = expected ?? digestOf(bytes);
        const have = this.#blobs.get(digest);
        if (have) return { digest, size: have.size };
        const name = `${digestHex(digest)}.json`;
        const before = this.#tar.size;
        await this.#tar.addBytes(name, bytes);
        this.#blobs.set(digest, { name, size: bytes.length, dataOffset: before + 512 });
        this.#configs.set(digest, bytes);
        if (expected === undefined) onBytes?.(bytes.length);
        return { digest, size: bytes.length };
      }
      let body: BlobStream;
      let digestOfData: () => Promise<Digest>;
      if (expected !== undefined) {
        body = verifyStream(stream, { digest: expected, size: info.size }, { what, signal, ...(onBytes ? { onBytes } : {}) });
        digestOfData = async () => expected;
      } else {
        const m = measureStream(checkLength(stream, info.size, what), "sha256", { what, signal, ...(onBytes ? { onBytes } : {}) });
        body = m.stream;
        digestOfData = async () => (await m.result).digest;
      }
      let digest: Digest | undefined;
      try {
        const { dataOffset, size } = await this.#tar.addStream(
          body,
          async () => {
            digest = await digestOfData();
            // Content sent without a digest may turn out to be a blob we have: drop the copy.
            if (expected === undefined && this.#blobs.has(digest)) throw new DuplicateBlob(digest);
            return `${digestHex(digest)}.tar`;
          },
          signal,
        );
        this.#blobs.set(digest!, { name: `${digestHex(digest!)}.tar`, size, dataOffset });
        return { digest: digest!, size };
      } catch (e) {
        if (e instanceof DuplicateBlob) return { digest: e.digest, size: this.#blobs.get(e.digest)!.size };
        throwIfAborted(signal);
        throw e;
      }
    });
  }

  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    throwIfAborted(options.signal);
    this.#checkOpen();
    if (info.digest === undefined) return undefined;
    const have = this.#blobs.get(info.digest);
    if (!have) return undefined;
    return { digest: info.digest, size: have.size, reason: "exists" };
  }

  async putManifest(bytes: Uint8Array, instanceDigest?: Digest, options?: IoOptions): Promise<void> {
    throwIfAborted(options?.signal);
    this.#checkOpen();
    if (instanceDigest !== undefined) {
      throw new UnsupportedError(`${this.#what}: docker archives hold single images; manifest lists and their instances cannot be stored`);
    }
    const view = parseManifest(bytes);
    if (view.kind !== "image" || view.format.type !== "docker-schema2") {
      throw new ManifestTypeRejectedError(`${this.#what}: docker archives store only Docker schema 2 manifests, not ${view.mimeType}`);
    }
    const config = view.config!.digest;
    if (!this.#blobs.has(config)) {
      throw new BlobUnknownError(`${this.#what}: the manifest's config ${config} was not written to this archive (putBlob it first)`);
    }
    const layers = view.layers.map((l) => l.digest);
    for (const l of layers) {
      if (!this.#blobs.has(l)) throw new BlobUnknownError(`${this.#what}: the manifest's layer ${l} was not written to this archive (putBlob it first)`);
    }
    this.#manifest = { config, layers };
  }

  async putSignatures(signatures: readonly Signature[], instanceDigest?: Digest, options?: IoOptions): Promise<void> {
    throwIfAborted(options?.signal);
    if (signatures.length > 0 || instanceDigest !== undefined) {
      throw new UnsupportedCapabilityError(`${this.#what}: docker archives cannot store signatures; copy without them (remove signatures)`);
    }
  }

  async #configBytes(digest: Digest): Promise<Uint8Array> {
    const kept = this.#configs.get(digest);
    if (kept) return kept;
    const e = this.#blobs.get(digest)!;
    // Written without isConfig: read it back (bounded) for the legacy metadata.
    if (e.size > SizeLimits.config) return utf8("{}");
    return this.#tar.readBack(e.dataOffset, e.size);
  }

  async commit(options?: CommitOptions): Promise<void> {
    const signal = options?.signal;
    throwIfAborted(signal);
    this.#checkOpen();
    const manifest = this.#manifest;
    if (!manifest) throw new InvalidManifestError(`${this.#what}: commit() was called before putManifest()`);
    await this.#serial(async () => {
      this.#checkOpen();
      try {
        throwIfAborted(signal);
        const configBytes = await this.#configBytes(manifest.config);
        const legacy = legacyLayers(manifest.layers, configBytes);
        const written = new Set<string>();
        for (const l of legacy) {
          if (written.has(l.id)) continue;
          written.add(l.id);
          await this.#tar.addSymlink(`${l.id}/layer.tar`, `../${this.#blobs.get(l.digest)!.name}`);
          await this.#tar.addBytes(`${l.id}/VERSION`, utf8("1.0"));
          await this.#tar.addBytes(`${l.id}/json`, l.json);
        }
        const item = {
          Config: this.#blobs.get(manifest.config)!.name,
          RepoTags: this.#repoTags,
          Layers: manifest.layers.map((d) => this.#blobs.get(d)!.name),
        };
        await this.#tar.addBytes(ARCHIVE_MANIFEST_FILE, utf8(JSON.stringify([item])));
        const repositories: Record<string, Record<string, string>> = {};
        const top = legacy[legacy.length - 1];
        if (top) {
          for (const t of this.#repoTags) {
            const colon = t.lastIndexOf(":");
            const name = t.slice(0, colon);
            (repositories[name] ??= {})[t.slice(colon + 1)] = top.id;
          }
        }
        const sorted = Object.fromEntries(
          Object.keys(repositories)
            .sort()
            .map((k) => [k, Object.fromEntries(Object.entries(repositories[k]!).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))]),
        );
        await this.#tar.addBytes(LEGACY_REPOSITORIES_FILE, utf8(JSON.stringify(sorted)));
        await this.#tar.finish();
        throwIfAborted(signal);
        const fh = this.#fh!;
        await fh.sync();
        this.#fh = undefined;
        await fh.close();
        await this.#publish(signal);
        this.#state = "committed";
      } catch (e) {
        this.#state = "failed";
        await this.#discard();
        throw e;
      }
    });
  }

  /** Moves the finished temp file to the target. */
  async #publish(signal?: AbortSignal): Promise<void> {
    const t = this.#target;
    if (t.kind === "stream") {
      const out = await open(t.path, "w");
      try {
        for await (const chunk of createReadStream(this.#tempPath) as AsyncIterable<Uint8Array>) {
          if (signal?.aborted) throw new AbortError("the operation was aborted", { cause: signal.reason });
          let done = 0;
          while (done < chunk.byteLength) done += (await out.write(chunk, done, chunk.byteLength - done)).bytesWritten;
        }
      } finally {
        await out.close();
      }
      await this.#discard();
      return;
    }
    const dir = dirname(t.path);
    if (t.kind === "empty-file") {
      const now = await lstat(t.path).catch(() => undefined);
      if (now && !(now.isFile() && now.size === 0)) {
        throw new DestinationExistsError(`${this.#what} was changed by someone else while it was being written; not overwriting it`);
      }
      await chmod(this.#tempPath, t.mode);
      await rename(this.#tempPath, t.path);
      await syncDir(dir);
      return;
    }
    // A new file: link() refuses to replace anything that appeared meanwhile.
    try {
      await link(this.#tempPath, t.path);
      await unlink(this.#tempPath);
    } catch (e) {
      const code = errno(e);
      if (code === "EEXIST") {
        const now = await lstat(t.path).catch(() => undefined);
        if (!(now && now.isFile() && now.size === 0)) {
          throw new DestinationExistsError(`${this.#what} was created by someone else while it was being written; not overwriting it`, { cause: e });
        }
      } else if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "EXDEV" && code !== "EMLINK") {
        throw e;
      }
      // No hard links on this file system (or an empty file appeared): rename, after checking once more.
      const now = await lstat(t.path).catch(() => undefined);
      if (now && !(now.isFile() && now.size === 0)) {
        throw new DestinationExistsError(`${this.#what} was created by someone else while it was being written; not overwriting it`, { cause: e });
      }
      await rename(this.#tempPath, t.path);
    }
    await syncDir(dir);
  }

  /** Closes and removes the temp file (and its directory, for stream targets). */
  async #discard(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    await fh?.close().catch(() => {});
    if (this.#tempDir !== undefined) await rm(this.#tempDir, { recursive: true, force: true });
    else await rm(this.#tempPath, { force: true });
  }

  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasCommitted = this.#state === "committed";
    this.#state = "closed";
    // Not waiting for a putBlob still running (its stream may never end): closing the
    // file handle waits for the pending write, and later writes fail on the closed handle.
    if (!wasCommitted) await this.#discard();
  }
}

/** Opens a destination for `ref` (see {@link DockerArchiveReference.newImageDestination}). */
export async function openDockerArchiveDestination(ref: DockerArchiveReference, ctx?: SystemContext, options?: IoOptions): Promise<ImageDestination> {
  throwIfAborted(options?.signal);
  const what = `docker-archive "${ref.path}"`;
  if (ref.sourceIndex !== undefined) {
    throw new InvalidReferenceError(`${what}: a destination reference must not contain an image index (@${ref.sourceIndex})`);
  }
  const repoTags = repoTagsFor(ref, ctx);
  const target = await examineTarget(resolve(ref.path), what);
  let tempDir: string | undefined;
  let tempPath: string;
  if (target.kind === "stream") {
    const base = ctx?.bigFilesTemporaryDir ?? tmpdir();
    tempDir = await mkdtemp(join(base, "stevedore-docker-archive-"));
    tempPath = join(tempDir, "archive.tar");
  } else {
    const dir = dirname(target.path);
    await removeDeadLeftovers(dir, basename(target.path));
    tempPath = join(dir, tempNameFor(basename(target.path)));
  }
  let fh: FileHandle;
  try {
    fh = await open(tempPath, "wx+", 0o644);
  } catch (e) {
    if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
    throw new StevedoreError(`cannot create a temporary file for ${what} in "${dirname(tempPath)}": ${(e as Error).message}`, { cause: e });
  }
  return new DockerArchiveImageDestination(ref, what, target, repoTags, tempPath, tempDir, fh);
}
