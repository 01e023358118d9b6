import {
  chooseInstance,
  inspectInfo,
  parseRawManifest,
  type ImageManifestView,
  type InspectInfo,
  type ListManifestView,
  type ManifestInstance,
  type WantedPlatform,
} from "@stevedore/manifest";
import {
  InvalidManifestError,
  NotAnImageError,
  SizeLimits,
  imageName,
  readAll,
  verifyStream,
  type BlobInfo,
  type BlobInfoCache,
  type Digest,
  type ImageSource,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";
import { unparsedInstance, type UnparsedImage } from "./unparsed.js";

/** A single image, parsed: manifest view, config, layers, inspect data. */
export interface Image extends UnparsedImage {
  /** The parsed manifest. */
  readonly view: ImageManifestView;
  /** The manifest list or index the image was chosen from, when there was one. */
  readonly list?: ListManifestView;
  /** The config blob (verified, at most 4 MiB), or undefined for schema 1 (its config is in its history). */
  configBlob(options?: IoOptions): Promise<Uint8Array | undefined>;
  /** The layers as the manifest lists them. */
  layerInfos(): BlobInfo[];
  /** The layers as a copy should read them (the source may serve them differently). */
  layerInfosForCopy(options?: IoOptions): Promise<BlobInfo[]>;
  /** What `skopeo inspect` shows; `tags` fills RepoTags. */
  inspect(options?: IoOptions & { tags?: readonly string[] }): Promise<InspectInfo>;
  /** Sum of manifest, config and layer sizes; −1 when a size is unknown (schema 1). */
  size(): number;
}

/** A cache that records nothing, for reading configs. */
const NO_CACHE: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** Options of {@link openImage}. */
export interface OpenImageOptions extends IoOptions {
  /** Open this instance of an index. */
  instanceDigest?: Digest;
  /** When the manifest is a list: the platform to choose (see {@link wantedPlatformOf}). Required then. */
  platform?: WantedPlatform;
  /** Cache used when reading the config. */
  cache?: BlobInfoCache;
}

/**
 * The platform a caller wants: `ctx`'s architecture/OS/variant choices over
 * the runtime's (which the caller supplies; Node callers use `process`).
 */
export function wantedPlatformOf(ctx: SystemContext | undefined, runtime: WantedPlatform): WantedPlatform {
  const architecture = ctx?.architectureChoice ?? runtime.architecture;
  const variant = ctx?.variantChoice ?? (ctx?.architectureChoice !== undefined && ctx.architectureChoice !== runtime.architecture ? undefined : runtime.variant);
  return { os: ctx?.osChoice ?? runtime.os, architecture, ...(variant ? { variant } : {}) };
}

/**
 * Opens the image of `source`: the top level, or `instanceDigest`; when that
 * is a list, the instance for `platform`.
 */
export async function openImage(source: ImageSource, options: OpenImageOptions = {}): Promise<Image> {
  let unparsed = unparsedInstance(source, options.instanceDigest);
  let raw = await unparsed.manifest(options);
  let parsed = parseRawManifest(raw);
  let list: ListManifestView | undefined;
  if (parsed.kind === "list") {
    list = parsed;
    if (!options.platform) {
      throw new InvalidManifestError(`${imageName(source.reference)} is a manifest list; a platform must be chosen to open one image of it`);
    }
    const chosen: ManifestInstance = chooseInstance(parsed, options.platform);
    unparsed = unparsedInstance(source, chosen.digest);
    raw = await unparsed.manifest(options);
    parsed = parseRawManifest(raw);
    if (parsed.kind === "list") {
      throw new InvalidManifestError(`${imageName(source.reference)}: instance ${chosen.digest} of the list is itself a list`);
    }
  }
  const view: ImageManifestView = parsed;
  const cache = options.cache ?? NO_CACHE;
  let config: Promise<Uint8Array | undefined> | undefined;
  const configBlob = (opts?: IoOptions) => {
    if (!config) {
      const c = view.config;
      config = c === undefined
        ? Promise.resolve(undefined)
        : (async () => {
            const { stream } = await source.getBlob({ digest: c.digest, size: c.size, mediaType: c.mediaType }, cache, opts);
            const what = `config ${c.digest} of ${imageName(source.reference)}`;
            return readAll(verifyStream(stream, { digest: c.digest, size: c.size }, { what, signal: opts?.signal }), {
              limit: SizeLimits.config,
              what,
              signal: opts?.signal,
            });
          })();
      config.catch(() => {
        config = undefined;
      });
    }
    return config;
  };
  const layerInfos = (): BlobInfo[] =>
    view.layers.map((l) => ({
      digest: l.digest,
      size: l.size,
      mediaType: l.mediaType,
      ...(l.urls ? { urls: l.urls } : {}),
      ...(l.annotations ? { annotations: l.annotations } : {}),
    }));
  return Object.freeze({
    ...unparsed,
    view,
    ...(list ? { list } : {}),
    configBlob,
    layerInfos,
    async layerInfosForCopy(opts?: IoOptions) {
      return (await source.layerInfosForCopy(unparsed.instanceDigest, opts)) ?? layerInfos();
    },
    async inspect(opts?: IoOptions & { tags?: readonly string[] }) {
      if (view.isArtifact) {
        throw new NotAnImageError(`${imageName(source.reference)} is an OCI artifact (config type ${view.config?.mediaType ?? "?"}), not a container image; use --raw to see its manifest`);
      }
      const ref = source.reference.dockerReference();
      return inspectInfo(view, await configBlob(opts), { ...(ref ? { reference: ref } : {}), tags: opts?.tags ?? [] });
    },
    size() {
      if (view.layers.some((l) => l.size < 0)) return -1;
      return view.bytes.length + (view.config?.size ?? 0) + view.layers.reduce((n, l) => n + l.size, 0);
    },
  });
}
