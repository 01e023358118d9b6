import { guessMIMEType, parseManifest, type ManifestInstance } from "@stevedore/manifest";
import {
  BlobUnknownError,
  ImageNotFoundError,
  InvalidArchiveError,
  ManifestUnknownError,
  SizeLimitExceededError,
  SizeLimits,
  SizeMismatchError,
  StevedoreError,
  UnsupportedError,
  fromUtf8,
  parseDigest,
  readAll,
  throwIfAborted,
  verifyStream,
  type BlobChunk,
  type BlobInfo,
  type BlobInfoCache,
  type BlobResult,
  type BlobStream,
  type Digest,
  type ImageReference,
  type ImageSource,
  type ImageSourceCapabilities,
  type IoOptions,
  type RawManifest,
  type Signature,
} from "@stevedore/types";
import { IMAGE_LAYOUT_FILE, INDEX_FILE, parseLayoutIndex, selectImage, type ImageSelector, type LayoutDescriptor, type LayoutIndex } from "./layout-index.js";
import type { LayoutStore } from "./store.js";

/**
 * Reads and validates a layout's index.json (at most 4 MiB) and its
 * `oci-layout` marker (when present it must name a 1.x layout). `where` is
 * the transport-qualified location for messages. A missing index.json
 * throws `ImageNotFoundError`.
 */
export async function readLayoutIndex(store: LayoutStore, where: string, options: IoOptions = {}): Promise<LayoutIndex> {
  const bytes = await store.readMetadataFile(INDEX_FILE, SizeLimits.manifest, options);
  if (bytes === undefined) throw new ImageNotFoundError(`${where}: not an OCI image layout (${store.location} has no index.json)`);
  await checkLayoutMarker(store, options);
  return parseLayoutIndex(bytes, store.location);
}

/** Checks `oci-layout` when it exists: a JSON object whose `imageLayoutVersion` is 1.x. */
export async function checkLayoutMarker(store: LayoutStore, options: IoOptions = {}): Promise<void> {
  const marker = await store.readMetadataFile(IMAGE_LAYOUT_FILE, 64 * 1024, options);
  if (marker === undefined) return;
  let version: unknown;
  try {
    version = (JSON.parse(fromUtf8(marker)) as { imageLayoutVersion?: unknown }).imageLayoutVersion;
  } catch (e) {
    throw new InvalidArchiveError(`oci-layout of ${store.location} is not valid JSON`, { cause: e });
  }
  if (typeof version !== "string" || !/^1\.\d+\.\d+$/.test(version)) {
    throw new InvalidArchiveError(`oci-layout of ${store.location}: unsupported imageLayoutVersion ${JSON.stringify(version)} (expected 1.x.y)`);
  }
}

/**
 * Reads a manifest (or other small document) blob named by a descriptor:
 * at most `limit` bytes, and it must have the descriptor's size and digest.
 * A missing blob throws `ManifestUnknownError`; a wrong size
 * `SizeMismatchError`; wrong content `DigestMismatchError`; all naming the
 * digest and where it was looked for.
 */
export async function readDescribedBlob(
  store: LayoutStore,
  desc: { digest: Digest; size: number },
  options: IoOptions & { limit?: number; what?: string } = {},
): Promise<Uint8Array> {
  const limit = options.limit ?? SizeLimits.manifest;
  const what = options.what ?? `manifest ${desc.digest}`;
  const blob = await store.openBlob(desc.digest, options);
  if (blob === undefined) throw new ManifestUnknownError(`${what} is missing from ${store.location}`);
  if (blob.size > limit) throw new SizeLimitExceededError(`${what} in ${blob.location} is ${blob.size} bytes, larger than the limit of ${limit} bytes`);
  if (desc.size >= 0 && blob.size !== desc.size) throw new SizeMismatchError(`${what} in ${blob.location}`, desc.size, blob.size);
  const checked = verifyStream(blob.stream(undefined, options), { digest: desc.digest, size: desc.size }, {
    what: `${what} in ${blob.location}`,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return readAll(checked, { limit, what, ...(options.signal ? { signal: options.signal } : {}) });
}

/** Options of {@link openLayoutImageSource}. */
export interface LayoutImageSourceOptions extends IoOptions {
  /** The reference the source is opened for (returned as `source.reference`). */
  reference: ImageReference;
  /** Where the layout's files are. */
  store: LayoutStore;
  /** Which image. */
  selector: ImageSelector;
  /** The transport-qualified location for messages, e.g. `oci:/srv/layout`. */
  where: string;
  /** Called by `close()` after the store is closed (e.g. to remove temporary files). */
  onClose?: () => Promise<void>;
}

/**
 * Opens the image `selector` names in a layout as an `ImageSource`: index.json
 * is read and validated now; manifests are verified against their descriptors'
 * digest and size; blobs are verified while they are read.
 */
export async function openLayoutImageSource(options: LayoutImageSourceOptions): Promise<LayoutImageSource> {
  try {
    const index = await readLayoutIndex(options.store, options.where, options);
    const { descriptor } = selectImage(index, options.selector, options.where);
    return new LayoutImageSource(options, index, descriptor);
  } catch (e) {
    await options.store.close().catch(() => {});
    await options.onClose?.().catch(() => {});
    throw e;
  }
}

/** An image of an OCI layout being read. Made by {@link openLayoutImageSource}. */
export class LayoutImageSource implements ImageSource {
  readonly reference: ImageReference;
  readonly capabilities: ImageSourceCapabilities = Object.freeze({ threadSafeGetBlob: true, getBlobAt: true });
  /** The index.json entry of the image. */
  readonly descriptor: LayoutDescriptor;
  /** The layout's index.json as it was when the source was opened. */
  readonly index: LayoutIndex;
  private readonly store: LayoutStore;
  private readonly where: string;
  private readonly onClose: (() => Promise<void>) | undefined;
  private top: RawManifest | undefined;
  private instances: readonly ManifestInstance[] | undefined;
  private closed = false;

  constructor(options: LayoutImageSourceOptions, index: LayoutIndex, descriptor: LayoutDescriptor) {
    this.reference = options.reference;
    this.store = options.store;
    this.where = options.where;
    this.onClose = options.onClose;
    this.index = index;
    this.descriptor = descriptor;
  }

  private async topLevel(options: IoOptions): Promise<RawManifest> {
    if (this.top) return this.top;
    const d = this.descriptor;
    const bytes = await readDescribedBlob(this.store, d, { ...options, what: `manifest ${d.digest} of ${this.where}` });
    const mimeType = d.mediaType !== "" ? d.mediaType : guessMIMEType(bytes);
    this.top = { bytes, mimeType };
    return this.top;
  }

  async getManifest(instanceDigest?: Digest, options: IoOptions = {}): Promise<RawManifest> {
    throwIfAborted(options.signal);
    const top = await this.topLevel(options);
    if (instanceDigest === undefined) return { bytes: top.bytes, mimeType: top.mimeType };
    const wanted = parseDigest(instanceDigest);
    if (wanted === this.descriptor.digest) return { bytes: top.bytes, mimeType: top.mimeType };
    if (this.instances === undefined) {
      const view = parseManifest(top.bytes, top.mimeType);
      this.instances = view.kind === "list" ? view.instances : [];
    }
    const inst = this.instances.find((i) => i.digest === wanted);
    if (inst === undefined) {
      throw new ManifestUnknownError(`${this.where}: ${wanted} is not an instance of the image (${this.descriptor.digest})`);
    }
    const bytes = await readDescribedBlob(this.store, inst, { ...options, what: `manifest ${wanted} of ${this.where}` });
    return { bytes, mimeType: inst.mediaType !== "" ? inst.mediaType : guessMIMEType(bytes) };
  }

  async getBlob(info: BlobInfo, _cache: BlobInfoCache, options: IoOptions = {}): Promise<BlobResult> {
    throwIfAborted(options.signal);
    if (info.digest === undefined) throw new BlobUnknownError(`${this.where}: getBlob() needs a digest`);
    const digest = parseDigest(info.digest);
    const blob = await this.store.openBlob(digest, options);
    if (blob === undefined) {
      if (info.urls && info.urls.length > 0) {
        throw new UnsupportedError(
          `${this.where}: blob ${digest} is not in the layout and has foreign URLs (${info.urls.join(", ")}); fetching foreign layers from an OCI layout is not supported`,
        );
      }
      throw new BlobUnknownError(`${this.where}: blob ${digest} is missing from ${this.store.location}`);
    }
    if (info.size >= 0 && blob.size !== info.size) {
      throw new SizeMismatchError(`blob ${digest} in ${blob.location}`, info.size, blob.size);
    }
    const stream: BlobStream = verifyStream(blob.stream(undefined, options), { digest, size: blob.size }, {
      what: `blob ${digest} in ${blob.location}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { stream, size: blob.size };
  }

  async *getBlobAt(info: BlobInfo, chunks: readonly BlobChunk[], options: IoOptions = {}): AsyncIterable<BlobStream> {
    throwIfAborted(options.signal);
    if (info.digest === undefined) throw new BlobUnknownError(`${this.where}: getBlobAt() needs a digest`);
    const digest = parseDigest(info.digest);
    const blob = await this.store.openBlob(digest, options);
    if (blob === undefined) throw new BlobUnknownError(`${this.where}: blob ${digest} is missing`);
    for (const c of chunks) {
      if (c.offset < 0 || c.offset > blob.size || (c.length >= 0 && c.offset + c.length > blob.size)) {
        throw new StevedoreError(`${this.where}: range ${c.offset}+${c.length} is outside blob ${digest} of ${blob.size} bytes`);
      }
      yield blob.stream({ offset: c.offset, length: c.length }, options);
    }
  }

  async getSignatures(_instanceDigest?: Digest, options: IoOptions = {}): Promise<Signature[]> {
    throwIfAborted(options.signal);
    return [];
  }

  async layerInfosForCopy(_instanceDigest?: Digest, options: IoOptions = {}): Promise<BlobInfo[] | undefined> {
    throwIfAborted(options.signal);
    return undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.store.close();
    await this.onClose?.();
  }
}
