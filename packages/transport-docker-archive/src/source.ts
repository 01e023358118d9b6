import { decompressStream, detectCompressionBytes, type BaseCompressionAlgorithmName } from "@stevedore/compression";
import { DOCKER_CONFIG_MEDIA_TYPE, DOCKER_LAYER_MEDIA_TYPE, DOCKER_SCHEMA2_MEDIA_TYPE } from "@stevedore/manifest";
import { parseNormalizedNamed } from "@stevedore/reference";
import {
  AmbiguousImageError,
  BlobUnknownError,
  ImageNotFoundError,
  InvalidArchiveError,
  ManifestUnknownError,
  SizeLimitExceededError,
  SizeLimits,
  UnsupportedError,
  digestOf,
  fromUtf8,
  parseDigest,
  streamOf,
  throwIfAborted,
  utf8,
  verifyStream,
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
import { openArchiveFile, type ArchiveFile } from "./internal/archive-file.js";
import { ARCHIVE_MANIFEST_FILE, LEGACY_REPOSITORIES_FILE, parseArchiveManifest, type ArchiveManifestItem } from "./internal/archive-manifest.js";
import { TarIndex, type TarEntry } from "./internal/tar-index.js";
import type { DockerArchiveReference } from "./transport.js";

/** A layer of the chosen image, by DiffID. */
interface LayerFile {
  readonly diffID: Digest;
  /** The path manifest.json gives. */
  readonly path: string;
  /** The regular-file entry it resolves to. */
  readonly entry: TarEntry;
}

/** What is known about a layer once its compression and uncompressed size were measured. */
interface MeasuredLayer extends LayerFile {
  readonly compression: BaseCompressionAlgorithmName | undefined;
  readonly uncompressedSize: number;
}

function describeItem(item: ArchiveManifestItem, i: number): string {
  return `@${i} (${item.repoTags.length > 0 ? item.repoTags.join(", ") : "untagged"})`;
}

/** Picks the image the reference asks for. */
function chooseItem(items: readonly ArchiveManifestItem[], ref: DockerArchiveReference, what: string): { item: ArchiveManifestItem; index: number } {
  if (ref.namedTagged !== undefined) {
    const wanted = ref.namedTagged.toString();
    for (const [i, item] of items.entries()) {
      for (const tag of item.repoTags) {
        let parsed;
        try {
          parsed = parseNormalizedNamed(tag);
        } catch (e) {
          throw new InvalidArchiveError(`${what}: manifest.json item @${i} has an invalid tag ${JSON.stringify(tag)}`, { cause: e });
        }
        if (parsed.toString() === wanted) return { item, index: i };
      }
    }
    const known = items.flatMap((it) => it.repoTags);
    throw new ImageNotFoundError(
      `${what} has no image tagged "${wanted}"; its tags: ${known.length > 0 ? known.join(", ") : "(none)"}`,
    );
  }
  if (ref.sourceIndex !== undefined) {
    const item = items[ref.sourceIndex];
    if (!item) {
      throw new ImageNotFoundError(`${what} has no image @${ref.sourceIndex}: it holds ${items.length} image${items.length === 1 ? "" : "s"} (@0…@${items.length - 1})`);
    }
    return { item, index: ref.sourceIndex };
  }
  if (items.length === 1) return { item: items[0]!, index: 0 };
  if (items.length === 0) throw new ImageNotFoundError(`${what} holds no images (its manifest.json is an empty list)`);
  throw new AmbiguousImageError(
    `${what} holds ${items.length} images; choose one with ":name:tag" or ":@index": ${items.map(describeItem).join("; ")}`,
  );
}

/** The DiffIDs of an image config (`rootfs.diff_ids`). */
function diffIDsOf(configBytes: Uint8Array, where: string): Digest[] {
  let doc: unknown;
  try {
    doc = JSON.parse(fromUtf8(configBytes));
  } catch (e) {
    throw new InvalidArchiveError(`${where} is not valid JSON`, { cause: e });
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new InvalidArchiveError(`${where} is not a JSON object`);
  const rootfs = (doc as Record<string, unknown>).rootfs;
  if (typeof rootfs !== "object" || rootfs === null || Array.isArray(rootfs)) {
    throw new InvalidArchiveError(`${where} is not a valid image config: "rootfs" is not set`);
  }
  const ids = (rootfs as Record<string, unknown>).diff_ids ?? [];
  if (!Array.isArray(ids)) throw new InvalidArchiveError(`${where}: "rootfs.diff_ids" is not a list`);
  return ids.map((d: unknown, i) => {
    try {
      return parseDigest(d);
    } catch (e) {
      throw new InvalidArchiveError(`${where}: rootfs.diff_ids[${i}] is not a valid digest: ${(e as Error).message}`, { cause: e });
    }
  });
}

/** Reads manifest.json, refusing it when it is too big without reading it. */
async function readArchiveManifest(index: TarIndex, what: string): Promise<ArchiveManifestItem[]> {
  if (!index.has(ARCHIVE_MANIFEST_FILE)) {
    if (index.has(LEGACY_REPOSITORIES_FILE)) {
      throw new UnsupportedError(
        `${what} has no manifest.json: it is a legacy (Docker < 1.10) "docker save" archive with only "repositories" and per-layer "<id>/json" files, which docker-archive: does not support; load it into a newer docker and save it again`,
      );
    }
    throw new InvalidArchiveError(`${what} is not a docker archive: it has no manifest.json`);
  }
  const entry = index.resolve(ARCHIVE_MANIFEST_FILE, "archive manifest");
  if (entry.size > SizeLimits.archiveManifest) {
    throw new SizeLimitExceededError(
      `${what}: manifest.json is ${entry.size} bytes, more than the limit of ${SizeLimits.archiveManifest} bytes`,
    );
  }
  return parseArchiveManifest(await index.readEntry(entry), what);
}

/**
 * An image in a `docker save` archive. The manifest is generated (Docker
 * schema 2, layers listed by DiffID, uncompressed); layers stored compressed
 * in the archive are decompressed when served, and every layer is verified
 * against its DiffID while it is read.
 */
class DockerArchiveImageSource implements ImageSource {
  readonly reference: DockerArchiveReference;
  readonly capabilities: ImageSourceCapabilities = Object.freeze({ threadSafeGetBlob: true, getBlobAt: false });
  readonly #file: ArchiveFile;
  readonly #index: TarIndex;
  readonly #what: string;
  readonly #configBytes: Uint8Array;
  readonly #configDigest: Digest;
  /** Layers in manifest order (DiffIDs may repeat). */
  readonly #diffIDs: readonly Digest[];
  /** One file per distinct DiffID. */
  readonly #layers: ReadonlyMap<Digest, LayerFile>;
  #measured: Promise<ReadonlyMap<Digest, MeasuredLayer>> | undefined;
  #manifest: Uint8Array | undefined;
  #closed = false;

  constructor(
    reference: DockerArchiveReference,
    file: ArchiveFile,
    index: TarIndex,
    what: string,
    configBytes: Uint8Array,
    diffIDs: readonly Digest[],
    layers: ReadonlyMap<Digest, LayerFile>,
  ) {
    this.reference = reference;
    this.#file = file;
    this.#index = index;
    this.#what = what;
    this.#configBytes = configBytes;
    this.#configDigest = digestOf(configBytes);
    this.#diffIDs = diffIDs;
    this.#layers = layers;
  }

  #checkOpen(): void {
    if (this.#closed) throw new ImageNotFoundError(`${this.#what}: the image source was closed`);
  }

  /** Finds each layer's compression and uncompressed size (decompressing compressed ones once). */
  #measure(signal?: AbortSignal): Promise<ReadonlyMap<Digest, MeasuredLayer>> {
    if (!this.#measured) {
      const run = (async () => {
        const out = new Map<Digest, MeasuredLayer>();
        for (const l of this.#layers.values()) {
          throwIfAborted(signal);
          const compression = detectCompressionBytes(await this.#index.head(l.entry, 8));
          let uncompressedSize = l.entry.size;
          if (compression !== undefined) {
            uncompressedSize = 0;
            try {
              for await (const c of decompressStream(this.#index.stream(l.entry, signal), compression, { signal })) uncompressedSize += c.byteLength;
            } catch (e) {
              throwIfAborted(signal);
              throw new InvalidArchiveError(`${this.#what}: the layer "${l.path}" is not valid ${compression} data: ${(e as Error).message}`, { cause: e });
            }
          }
          out.set(l.diffID, { ...l, compression, uncompressedSize });
        }
        return out;
      })();
      this.#measured = run;
      // A failed or cancelled measurement may be retried by the next call.
      run.catch(() => {
        if (this.#measured === run) this.#measured = undefined;
      });
    }
    return this.#measured;
  }

  async getManifest(instanceDigest?: Digest, options?: IoOptions): Promise<RawManifest> {
    throwIfAborted(options?.signal);
    this.#checkOpen();
    if (instanceDigest !== undefined) {
      throw new ManifestUnknownError(`${this.#what} holds single images, not manifest lists: there is no instance ${instanceDigest}`);
    }
    if (!this.#manifest) {
      const measured = await this.#measure(options?.signal);
      // Field order as the Go library writes it, so both generate the same bytes (and digest).
      const doc = {
        schemaVersion: 2,
        mediaType: DOCKER_SCHEMA2_MEDIA_TYPE,
        config: { mediaType: DOCKER_CONFIG_MEDIA_TYPE, size: this.#configBytes.length, digest: this.#configDigest },
        layers: this.#diffIDs.map((d) => ({ mediaType: DOCKER_LAYER_MEDIA_TYPE, size: measured.get(d)!.uncompressedSize, digest: d })),
      };
      this.#manifest = utf8(JSON.stringify(doc));
    }
    return { bytes: this.#manifest, mimeType: DOCKER_SCHEMA2_MEDIA_TYPE };
  }

  async getBlob(info: BlobInfo, _cache: BlobInfoCache, options?: IoOptions): Promise<BlobResult> {
    const signal = options?.signal;
    throwIfAborted(signal);
    this.#checkOpen();
    if (info.digest === this.#configDigest) return { stream: streamOf(this.#configBytes), size: this.#configBytes.length };
    const layer = info.digest === undefined ? undefined : this.#layers.get(info.digest);
    if (!layer) throw new BlobUnknownError(`${this.#what}: the image has no blob ${info.digest ?? "(no digest given)"}`);
    const m = (await this.#measure(signal)).get(layer.diffID)!;
    let stream = this.#index.stream(m.entry, signal);
    if (m.compression !== undefined) stream = decompressStream(stream, m.compression, { signal });
    return {
      stream: verifyStream(stream, { digest: m.diffID, size: m.uncompressedSize }, { what: `the layer "${m.path}" of ${this.#what} (its DiffID)`, signal }),
      size: m.uncompressedSize,
    };
  }

  async getSignatures(_instanceDigest?: Digest, options?: IoOptions): Promise<Signature[]> {
    throwIfAborted(options?.signal);
    return [];
  }

  /** Undefined: the generated manifest already lists the layers as they are served (uncompressed, by DiffID). */
  async layerInfosForCopy(_instanceDigest?: Digest, options?: IoOptions): Promise<BlobInfo[] | undefined> {
    throwIfAborted(options?.signal);
    return undefined;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#file.close();
  }
}

/** Opens the image `ref` names (see {@link DockerArchiveReference.newImageSource}). */
export async function openDockerArchiveSource(ref: DockerArchiveReference, ctx?: SystemContext, options?: IoOptions): Promise<ImageSource> {
  const signal = options?.signal;
  const what = `docker-archive "${ref.path}"`;
  const file = await openArchiveFile(ref.path, ctx, what, signal);
  try {
    const index = await TarIndex.build(file.fh, file.size, what, signal);
    const items = await readArchiveManifest(index, what);
    const { item } = chooseItem(items, ref, what);

    const configEntry = index.resolve(item.config, "config");
    const configWhere = `${what}: the config "${item.config}"`;
    if (configEntry.size > SizeLimits.config) {
      throw new SizeLimitExceededError(`${configWhere} is ${configEntry.size} bytes, more than the limit of ${SizeLimits.config} bytes`);
    }
    const configBytes = await index.readEntry(configEntry);
    const diffIDs = diffIDsOf(configBytes, configWhere);
    if (diffIDs.length !== item.layers.length) {
      throw new InvalidArchiveError(
        `${what}: inconsistent layer count: ${item.layers.length} in manifest.json, ${diffIDs.length} in the config "${item.config}"`,
      );
    }
    const layers = new Map<Digest, LayerFile>();
    const usedBy = new Map<number, Digest>(); // entry data offset → DiffID
    for (const [i, diffID] of diffIDs.entries()) {
      // The same DiffID may appear twice (docker save links the copies); its content is verified either way.
      if (layers.has(diffID)) continue;
      const path = item.layers[i]!;
      const entry = index.resolve(path, "layer");
      const other = usedBy.get(entry.dataOffset);
      if (other !== undefined) {
        throw new InvalidArchiveError(`${what}: the layer file "${path}" is used for two different DiffIDs, ${other} and ${diffID}`);
      }
      usedBy.set(entry.dataOffset, diffID);
      layers.set(diffID, { diffID, path, entry });
    }
    return new DockerArchiveImageSource(ref, file, index, what, configBytes, diffIDs, layers);
  } catch (e) {
    await file.close();
    throw e;
  }
}

