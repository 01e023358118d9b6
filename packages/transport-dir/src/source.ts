import { realpath, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { guessMIMEType, manifestDigest, matchesDigest } from "@stevedore/manifest";
import {
  BlobUnknownError,
  ImageNotFoundError,
  InvalidManifestError,
  ManifestUnknownError,
  SizeLimitExceededError,
  SizeLimits,
  SizeMismatchError,
  DigestMismatchError,
  decodeSignatureBlob,
  digestAlgorithm,
  imageName,
  parseDigest,
  throwIfAborted,
  type BlobInfo,
  type BlobInfoCache,
  type BlobResult,
  type Digest,
  type ImageSource,
  type ImageSourceCapabilities,
  type IoOptions,
  type RawManifest,
  type Signature,
  type SystemContext,
} from "@stevedore/types";
import type { DirReference } from "./transport.js";
import { isNotFound, openInside, readOpened, streamOpened, type OpenedFile } from "./internal/fs.js";
import { MANIFEST_FILE, blobFileName, manifestFileName, signatureFileName } from "./internal/layout.js";

/** At most this many signatures are read per image (a safety limit; containers/image has none). */
export const MAX_DIR_SIGNATURES = 1024;

class DirImageSource implements ImageSource {
  readonly reference: DirReference;
  readonly capabilities: ImageSourceCapabilities = Object.freeze({ threadSafeGetBlob: true, getBlobAt: false });
  readonly #root: string;
  readonly #rootReal: string;
  readonly #top: RawManifest;
  readonly #open = new Set<OpenedFile>();
  #closed = false;

  constructor(ref: DirReference, root: string, rootReal: string, top: RawManifest) {
    this.reference = ref;
    this.#root = root;
    this.#rootReal = rootReal;
    this.#top = top;
  }

  get #name(): string {
    return imageName(this.reference);
  }

  async getManifest(instanceDigest?: Digest, options: IoOptions = {}): Promise<RawManifest> {
    throwIfAborted(options.signal);
    if (instanceDigest === undefined) return { bytes: this.#top.bytes, mimeType: this.#top.mimeType };
    const d = parseDigest(instanceDigest);
    const file = manifestFileName(d);
    const bytes = await readManifestFile(this.#root, this.#rootReal, file, `manifest ${d} of ${this.#name}`, options.signal, () => {
      throw new ManifestUnknownError(`${this.#name} has no manifest for instance ${d} (no file ${file})`);
    });
    if (!matchesDigest(bytes.bytes, d)) {
      throw new DigestMismatchError(`manifest ${file} of ${this.#name}`, d, manifestDigest(bytes.bytes, digestAlgorithm(d)));
    }
    return bytes;
  }

  async getBlob(info: BlobInfo, _cache: BlobInfoCache, options: IoOptions = {}): Promise<BlobResult> {
    throwIfAborted(options.signal);
    if (info.digest === undefined) throw new BlobUnknownError(`cannot read a blob of ${this.#name} without its digest`);
    const d = parseDigest(info.digest);
    const file = blobFileName(d);
    const what = `blob ${d} of ${this.#name}`;
    let f: OpenedFile;
    try {
      f = await openInside(this.#root, this.#rootReal, file, what);
    } catch (e) {
      if (isNotFound(e)) throw new BlobUnknownError(`${what} does not exist (no file ${resolve(this.#root, file)})`, { cause: e });
      throw e;
    }
    if (info.size >= 0 && f.stats.size !== info.size) {
      await f.handle.close().catch(() => {});
      throw new SizeMismatchError(`${what} (file ${f.path})`, info.size, f.stats.size);
    }
    if (this.#closed) {
      await f.handle.close().catch(() => {});
      throw new BlobUnknownError(`${this.#name}: the source is closed`);
    }
    this.#open.add(f);
    return { stream: streamOpened(f, options.signal, () => this.#open.delete(f)), size: f.stats.size };
  }

  async getSignatures(instanceDigest?: Digest, options: IoOptions = {}): Promise<Signature[]> {
    const instance = instanceDigest === undefined ? undefined : parseDigest(instanceDigest);
    const out: Signature[] = [];
    for (let i = 0; ; i++) {
      throwIfAborted(options.signal);
      if (i >= MAX_DIR_SIGNATURES) {
        throw new SizeLimitExceededError(`${this.#name} has more than ${MAX_DIR_SIGNATURES} signatures${instance ? ` for ${instance}` : ""}`);
      }
      const file = signatureFileName(i, instance);
      const what = `signature file ${file} of ${this.#name}`;
      let f: OpenedFile;
      try {
        f = await openInside(this.#root, this.#rootReal, file, what);
      } catch (e) {
        if (isNotFound(e)) break;
        throw e;
      }
      const blob = await readOpened(f, SizeLimits.signature, what, options.signal);
      out.push(decodeSignatureBlob(blob, what));
    }
    return out;
  }

  async layerInfosForCopy(): Promise<BlobInfo[] | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const open = [...this.#open];
    this.#open.clear();
    await Promise.allSettled(open.map((f) => f.handle.close()));
  }
}

async function readManifestFile(
  root: string,
  rootReal: string,
  file: string,
  what: string,
  signal: AbortSignal | undefined,
  onMissing: () => never,
): Promise<RawManifest> {
  let f: OpenedFile;
  try {
    f = await openInside(root, rootReal, file, what);
  } catch (e) {
    if (isNotFound(e)) onMissing();
    throw e;
  }
  const bytes = await readOpened(f, SizeLimits.manifest, what, signal);
  let mimeType: string;
  try {
    mimeType = guessMIMEType(bytes);
  } catch (e) {
    throw new InvalidManifestError(`${what} (${f.path}) cannot be read: ${(e as Error).message}`, { cause: e });
  }
  if (mimeType === "") {
    throw new InvalidManifestError(`${what} (${f.path}) is not a manifest of any known format (not JSON, or no schemaVersion/mediaType)`);
  }
  return { bytes, mimeType };
}

/** Opens a `dir:` image for reading: the directory must exist and hold `manifest.json`. */
export async function openDirSource(ref: DirReference, _ctx?: SystemContext, options: IoOptions = {}): Promise<ImageSource> {
  throwIfAborted(options.signal);
  const name = imageName(ref);
  const root = resolve(ref.path);
  let rootReal: string;
  try {
    const st = await stat(root);
    if (!st.isDirectory()) throw new ImageNotFoundError(`${name}: ${root} is not a directory`);
    rootReal = await realpath(root);
  } catch (e) {
    if (isNotFound(e)) throw new ImageNotFoundError(`${name}: the directory ${root} does not exist`, { cause: e });
    throw e;
  }
  const top = await readManifestFile(root, rootReal, MANIFEST_FILE, `manifest of ${name}`, options.signal, () => {
    throw new ImageNotFoundError(`${name}: ${root} holds no image (no ${MANIFEST_FILE})`);
  });
  return new DirImageSource(ref, root, rootReal, top);
}
