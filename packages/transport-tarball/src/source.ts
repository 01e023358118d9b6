import { constants } from "node:fs";
import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { InvalidCompressedDataError, compressorNameOf, decompressStream, detectCompression } from "@stevedore/compression";
import { OCI_CONFIG_MEDIA_TYPE, OCI_LAYER_GZIP_MEDIA_TYPE, OCI_LAYER_MEDIA_TYPE, OCI_LAYER_ZSTD_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE } from "@stevedore/manifest";
import {
  BlobUnknownError,
  InvalidArchiveError,
  ManifestUnknownError,
  StevedoreError,
  UnsupportedError,
  digestHex,
  digestOf,
  measureStream,
  parseDigest,
  streamOf,
  throwIfAborted,
  utf8,
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
import type { TarballReference } from "./transport.js";
import { fileIdentity, streamHandle } from "./internal/file.js";
import { formatGoTime } from "./internal/gotime.js";
import { goPlatform } from "./internal/platform.js";
import { checkTarStream } from "./internal/tar-check.js";

/** The history comment of every layer, as containers/image writes it. */
export const TARBALL_HISTORY_COMMENT = "imported from tarball";

/** One layer file as it was read. */
interface LayerFile {
  path: string;
  identity: string;
  digest: Digest;
  size: number;
  diffID: Digest;
  mediaType: string;
  compressor: string;
  mtime: string;
  mtimeNs: bigint;
}

/** The image made up from the files. */
export interface GeneratedImage {
  manifest: Uint8Array;
  config: Uint8Array;
  configDigest: Digest;
  layers: LayerFile[];
}

const generated = new WeakMap<TarballReference, { key: string; image: GeneratedImage }>();

async function readLayer(path: string, signal: AbortSignal | undefined): Promise<LayerFile> {
  const what = `tarball file ${path}`;
  const fh = await open(path, constants.O_RDONLY).catch((e: unknown) => {
    throw new InvalidArchiveError(`${what} cannot be opened: ${(e as Error).message}`, { cause: e });
  });
  const st = await fh.stat({ bigint: true }).catch(async (e: unknown) => {
    await fh.close().catch(() => {});
    throw e;
  });
  if (!st.isFile()) {
    await fh.close().catch(() => {});
    throw new InvalidArchiveError(`${what} is not a regular file`);
  }
  const size = Number(st.size);
  let algorithm: "gzip" | "zstd" | "bzip2" | "xz" | undefined;
  let blob: { digest: Digest; size: number };
  let diffID: Digest;
  try {
    const raw = measureStream(streamHandle(fh, size, signal), "sha256", signal ? { signal } : {});
    const detected = await detectCompression(raw.stream, signal ? { signal } : {});
    algorithm = detected.algorithm;
    if (algorithm === "bzip2" || algorithm === "xz") {
      throw new UnsupportedError(`${what} is ${algorithm}-compressed; OCI images have no ${algorithm} layers: decompress it (or recompress it with gzip or zstd) first`);
    }
    const uncompressed = algorithm === undefined ? detected.stream : decompressStream(detected.stream, algorithm, signal ? { signal } : {});
    const diff = algorithm === undefined ? undefined : measureStream(uncompressed, "sha256", signal ? { signal } : {});
    try {
      await checkTarStream(diff?.stream ?? uncompressed, what, signal);
    } catch (e) {
      if (e instanceof InvalidCompressedDataError) {
        throw new InvalidCompressedDataError(e.algorithm, `${what}: ${e.message}`, { cause: e });
      }
      throw e;
    }
    blob = await raw.result;
    diffID = diff ? (await diff.result).digest : blob.digest;
  } finally {
    // Normally closed by the stream already; this covers early exits.
    await fh.close().catch(() => {});
  }
  if (blob.size !== size) throw new InvalidArchiveError(`${what} changed while it was being read (${size} bytes, then ${blob.size})`);
  const mtime = formatGoTime(st.mtimeNs);
  if (mtime === undefined) throw new InvalidArchiveError(`${what} has a modification time outside the years 0–9999`);
  return {
    path,
    identity: fileIdentity(st),
    digest: blob.digest,
    size,
    diffID,
    mediaType: algorithm === "gzip" ? OCI_LAYER_GZIP_MEDIA_TYPE : algorithm === "zstd" ? OCI_LAYER_ZSTD_MEDIA_TYPE : OCI_LAYER_MEDIA_TYPE,
    compressor: compressorNameOf(algorithm),
    mtime,
    mtimeNs: st.mtimeNs,
  };
}

/**
 * The config and manifest, serialised as containers/image's tarball source
 * does (Go's field order; `created` of the config = the newest file's mtime,
 * one history entry per layer), so that the same files make the same image.
 */
function generate(layers: LayerFile[], platform: { architecture: string; os: string; variant?: string }): GeneratedImage {
  let newest = layers[0]!;
  for (const l of layers) if (l.mtimeNs > newest.mtimeNs) newest = l;
  const config = {
    created: newest.mtime,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffID) },
    history: layers.map((l) => ({
      created: l.mtime,
      created_by: `/bin/sh -c #(nop) ADD file:${digestHex(l.diffID)} in /`,
      comment: TARBALL_HISTORY_COMMENT,
    })),
  };
  const configBytes = utf8(JSON.stringify(config));
  const configDigest = digestOf(configBytes);
  const manifest = {
    schemaVersion: 2,
    config: { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: configDigest, size: configBytes.length },
    layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
  };
  return { manifest: utf8(JSON.stringify(manifest)), config: configBytes, configDigest, layers };
}

class TarballImageSource implements ImageSource {
  readonly reference: TarballReference;
  readonly capabilities: ImageSourceCapabilities = Object.freeze({ threadSafeGetBlob: true, getBlobAt: false });
  readonly #image: GeneratedImage;
  readonly #layers = new Map<string, LayerFile>();
  readonly #open = new Set<() => Promise<void>>();

  constructor(ref: TarballReference, image: GeneratedImage) {
    this.reference = ref;
    this.#image = image;
    for (const l of image.layers) this.#layers.set(l.digest, l);
  }

  async getManifest(instanceDigest?: Digest, options: IoOptions = {}): Promise<RawManifest> {
    throwIfAborted(options.signal);
    if (instanceDigest !== undefined) {
      throw new ManifestUnknownError(`tarball:${this.reference.stringWithinTransport()} is a single image; it has no instance ${parseDigest(instanceDigest)}`);
    }
    return { bytes: this.#image.manifest, mimeType: OCI_MANIFEST_MEDIA_TYPE };
  }

  async getBlob(info: BlobInfo, cache: BlobInfoCache, options: IoOptions = {}): Promise<BlobResult> {
    const { signal } = options;
    throwIfAborted(signal);
    const d = info.digest === undefined ? undefined : parseDigest(info.digest);
    if (d === this.#image.configDigest) return { stream: streamOf(this.#image.config), size: this.#image.config.length };
    const layer = d === undefined ? undefined : this.#layers.get(d);
    if (layer === undefined) {
      throw new BlobUnknownError(`tarball:${this.reference.stringWithinTransport()} has no blob ${d ?? "(no digest given)"}`);
    }
    const what = `tarball file ${layer.path}`;
    const fh = await open(layer.path, constants.O_RDONLY).catch((e: unknown) => {
      throw new BlobUnknownError(`${what} (layer ${layer.digest}) cannot be opened any more: ${(e as Error).message}`, { cause: e });
    });
    try {
      const st = await fh.stat({ bigint: true });
      if (fileIdentity(st) !== layer.identity) {
        throw new InvalidArchiveError(`${what} changed since the image was opened (layer ${layer.digest}); open the image again`);
      }
    } catch (e) {
      await fh.close().catch(() => {});
      throw e;
    }
    // Verified locally when the image was generated.
    cache.recordDigestUncompressedPair(layer.digest, layer.diffID);
    cache.recordDigestCompressorName(layer.digest, layer.compressor);
    const closer = () => fh.close().catch(() => {});
    this.#open.add(closer);
    return { stream: streamHandle(fh, layer.size, signal, () => this.#open.delete(closer)), size: layer.size };
  }

  async getSignatures(): Promise<Signature[]> {
    return [];
  }

  async layerInfosForCopy(): Promise<BlobInfo[] | undefined> {
    return undefined;
  }

  async close(): Promise<void> {
    const open = [...this.#open];
    this.#open.clear();
    await Promise.allSettled(open.map((c) => c()));
  }
}

/** Opens (generating, or reusing while the files are unchanged) the image of a tarball: reference. */
export async function openTarballSource(ref: TarballReference, ctx?: SystemContext, options: IoOptions = {}): Promise<ImageSource> {
  const { signal } = options;
  throwIfAborted(signal);
  const runtime = goPlatform();
  const platform = {
    architecture: ctx?.architectureChoice ?? runtime.architecture,
    os: ctx?.osChoice ?? runtime.os,
    ...(ctx?.variantChoice ? { variant: ctx.variantChoice } : {}),
  };
  const identities: string[] = [];
  for (const f of ref.files) {
    try {
      identities.push(fileIdentity(await stat(f, { bigint: true })));
    } catch (e) {
      throw new InvalidArchiveError(`tarball file ${f} cannot be read: ${(e as Error).message}`, { cause: e });
    }
  }
  const key = JSON.stringify([platform, ref.files.map((f) => resolve(f)), identities]);
  const cached = generated.get(ref);
  if (cached !== undefined && cached.key === key) return new TarballImageSource(ref, cached.image);
  const layers: LayerFile[] = [];
  for (const f of ref.files) {
    try {
      layers.push(await readLayer(f, signal));
    } catch (e) {
      if (e instanceof StevedoreError) throw e;
      throw new InvalidArchiveError(`tarball file ${f} cannot be read: ${(e as Error).message}`, { cause: e });
    }
  }
  const image = generate(layers, platform);
  generated.set(ref, { key, image });
  return new TarballImageSource(ref, image);
}
