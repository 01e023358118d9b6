import type { UnparsedImage } from "@stevedore/image";
import {
  ManifestLayerCompressionIncompatibleError,
  canChangeLayerCompression,
  manifestDigest,
  matchesDigest,
  parseRawManifest,
  updateManifest,
  updateNeedsConfig,
  updateNeedsLayerDiffIDs,
  type ImageManifestView,
  type UpdatedManifest,
} from "@stevedore/manifest";
import {
  DigestMismatchError,
  InvalidManifestError,
  ManifestTypeRejectedError,
  SizeLimits,
  UnsupportedCapabilityError,
  UnsupportedError,
  imageName,
  readAll,
  streamOf,
  verifyStream,
  type BlobInfo,
  type Digest,
  type ImageDestination,
  type ImageReference,
  type Signature,
} from "@stevedore/types";
import type { CopyOptions, PolicyContext } from "../options.js";
import { copyBlob, type BlobCopyContext, type CopiedBlob, type LayerPlan } from "./blob.js";
import { mapBounded } from "./concurrency.js";
import { chooseManifestTypes } from "./manifest-choice.js";

/** What one image copy wrote. */
export interface SingleCopyResult {
  bytes: Uint8Array;
  mimeType: string;
  digest: Digest;
}

/** The state shared by every image of one copy. */
export interface Copier {
  blobs: BlobCopyContext;
  destRef: ImageReference;
  dest: ImageDestination;
  policy: PolicyContext | undefined;
  options: CopyOptions;
  signal: AbortSignal | undefined;
  /** Blob copies at once. */
  parallel: number;
}

/** Signatures the destination must store: the source's (unless removed) plus new ones. */
async function sourceSignatures(c: Copier, unparsed: UnparsedImage): Promise<Signature[]> {
  if (c.options.removeSignatures) return [];
  c.blobs.reporter.line("Getting image source signatures");
  return unparsed.signatures({ signal: c.signal });
}

function checkSignatureSupport(c: Copier, keeping: number): void {
  const caps = c.dest.capabilities;
  const signing = (c.options.signers?.length ?? 0) > 0;
  if ((keeping > 0 || signing) && !caps.supportsSignatures) {
    const why = caps.signaturesUnsupportedReason ?? "it cannot store signatures";
    throw new UnsupportedCapabilityError(
      keeping > 0
        ? `the source image has ${keeping} signature(s) but ${imageName(c.destRef)} cannot store them (${why}); use --remove-signatures to copy without them`
        : `cannot sign: ${imageName(c.destRef)} cannot store signatures (${why})`,
    );
  }
}

async function readConfig(c: Copier, view: ImageManifestView): Promise<Uint8Array | undefined> {
  const cfg = view.config;
  if (!cfg) return undefined;
  const src = c.blobs.src;
  const { stream } = await src.getBlob({ digest: cfg.digest, size: cfg.size, mediaType: cfg.mediaType }, c.blobs.cache, { signal: c.signal });
  const what = `config ${cfg.digest} of ${imageName(src.reference)}`;
  return readAll(verifyStream(stream, { digest: cfg.digest, size: cfg.size }, { what, signal: c.signal }), { limit: SizeLimits.config, what });
}

/**
 * Copies one image (not a list): policy check first, then layers and config,
 * then the manifest (converted when needed, trying the next type when the
 * destination refuses one), then signatures. `asInstance` writes the
 * manifest as an instance of a list (by its digest).
 */
export async function copySingleImage(c: Copier, unparsed: UnparsedImage, opts: { asInstance: boolean; isTopLevel: boolean }): Promise<SingleCopyResult> {
  const { dest, options, signal } = c;
  const src = c.blobs.src;
  // Policy first: nothing else about the image is read before this.
  await c.policy?.isRunningImageAllowed(unparsed, { signal });

  const raw = await unparsed.manifest({ signal });
  const parsed = parseRawManifest(raw);
  if (parsed.kind !== "image") {
    throw new InvalidManifestError(`${imageName(src.reference)}: expected an image manifest, found a list inside a list`);
  }
  const view = parsed;

  const sigs = await sourceSignatures(c, unparsed);
  checkSignatureSupport(c, sigs.length);

  const destDigest = opts.isTopLevel ? c.destRef.dockerReference()?.digest : undefined;
  if (destDigest !== undefined && !matchesDigest(raw.bytes, destDigest)) {
    throw new DigestMismatchError(`${imageName(c.destRef)}: the source manifest does not match the digest the destination names`, destDigest, view.digest);
  }
  const cannotModifyReason =
    sigs.length > 0
      ? "it would invalidate the source's signatures (use --remove-signatures)"
      : options.preserveDigests
        ? "digests must be preserved"
        : destDigest !== undefined
          ? "the destination is pinned to a digest"
          : undefined;
  const candidates = chooseManifestTypes(view.mimeType, dest.capabilities.supportedManifestMIMETypes, {
    ...(options.forceManifestMIMEType !== undefined ? { forced: options.forceManifestMIMEType } : {}),
    ...(cannotModifyReason !== undefined ? { cannotModifyReason } : {}),
    destName: imageName(c.destRef),
    isArtifact: view.isArtifact,
  });
  const canModify = cannotModifyReason === undefined && !view.isArtifact;
  const needDiffIDs = canModify && updateNeedsLayerDiffIDs(view, { targetMIMEType: candidates.preferred });
  const format = view.format.type === "oci" ? "oci" : "docker-schema2";

  // Layers.
  const layerInfos: BlobInfo[] = (await src.layerInfosForCopy(unparsed.instanceDigest, { signal })) ?? view.layers.map((l) => ({ ...l }));
  if (layerInfos.length !== view.layers.length) {
    throw new InvalidManifestError(`${imageName(src.reference)}: the source lists ${layerInfos.length} layers to copy but its manifest has ${view.layers.length}`);
  }
  const parallel = src.capabilities.threadSafeGetBlob && dest.capabilities.threadSafePutBlob ? c.parallel : 1;
  const copied: CopiedBlob[] = await mapBounded(layerInfos, parallel, signal, async (info, index, s) => {
    const layer = view.layers[index]!;
    if (info.urls?.length && !options.downloadForeignLayers && dest.capabilities.acceptsForeignLayerURLs) {
      c.blobs.reporter.skipped(info, "layer", "foreign layer, kept as a reference");
      return { info };
    }
    const plan: LayerPlan = {
      info,
      index,
      kind: "layer",
      canModify,
      canChangeCompression: view.format.type !== "docker-schema1" && !layer.encrypted && canChangeLayerCompression(format, info.mediaType ?? layer.mediaType),
      needDiffID: needDiffIDs,
      ...(layer.emptyLayer ? { emptyLayer: true } : {}),
    };
    return copyBlob(c.blobs, plan, s);
  });

  // Config: never modified.
  if (view.config) {
    const cfg = view.config;
    await copyBlob(
      c.blobs,
      {
        info: { digest: cfg.digest, size: cfg.size, mediaType: cfg.mediaType },
        index: 0,
        kind: "config",
        canModify: false,
        canChangeCompression: false,
        needDiffID: false,
      },
      signal ?? new AbortController().signal,
    );
  }

  // Manifest: the preferred type, then the others when the destination refuses one.
  const identity = dest.capabilities.ignoresEmbeddedDockerReference ? undefined : c.destRef.dockerReference();
  let configBytes: Promise<Uint8Array | undefined> | undefined;
  const errors: string[] = [];
  let written: UpdatedManifest | undefined;
  const types = [candidates.preferred, ...candidates.others];
  for (const [i, type] of types.entries()) {
    try {
      written = await writeManifestAs(c, view, type, { canModify, copied, identity, asInstance: opts.asInstance, config: () => (configBytes ??= readConfig(c, view)) });
      break;
    } catch (e) {
      const retryable = e instanceof ManifestTypeRejectedError || e instanceof ManifestLayerCompressionIncompatibleError;
      const message = `${type}: ${e instanceof Error ? e.message : String(e)}`;
      if (!retryable || i === types.length - 1) {
        if (errors.length === 0) throw e;
        throw new ManifestTypeRejectedError(`${imageName(c.destRef)} accepted none of the manifest types tried: ${[...errors, message].join("; ")}`, { cause: e });
      }
      errors.push(message);
      c.blobs.reporter.line(`Manifest type ${type} rejected, trying the next one`);
    }
  }
  if (!written) throw new ManifestTypeRejectedError(`${imageName(c.destRef)} accepted no manifest type`);

  // Signatures: kept ones and new ones.
  const newSigs: Signature[] = [];
  for (const signer of options.signers ?? []) {
    const who = options.signIdentity ?? c.destRef.dockerReference();
    if (!who) throw new UnsupportedError(`cannot sign: ${imageName(c.destRef)} has no docker reference to sign for; pass a signing identity`);
    c.blobs.reporter.line(`Signing manifest using ${signer.description}`);
    newSigs.push(await signer.sign(written.bytes, who, { ...(signal ? { signal } : {}) }));
  }
  if (sigs.length + newSigs.length > 0) {
    c.blobs.reporter.line("Storing signatures");
    await dest.putSignatures([...sigs, ...newSigs], opts.asInstance ? written.digest : undefined, { signal });
  }
  return { bytes: written.bytes, mimeType: written.mimeType, digest: opts.asInstance ? written.digest : manifestDigest(written.bytes) };
}

/** Produces the manifest as `type` (converting when allowed), stores the blobs it adds, and writes it. */
async function writeManifestAs(
  c: Copier,
  view: ImageManifestView,
  type: string,
  o: {
    canModify: boolean;
    copied: readonly CopiedBlob[];
    identity: ReturnType<ImageReference["dockerReference"]>;
    asInstance: boolean;
    config: () => Promise<Uint8Array | undefined>;
  },
): Promise<UpdatedManifest> {
  const { dest, signal } = c;
  let updated: UpdatedManifest;
  if (!o.canModify) {
    updated = { bytes: view.bytes, mimeType: view.mimeType, digest: view.digest, changed: false, view, newBlobs: [] };
  } else {
    const configBytes = updateNeedsConfig(view, { targetMIMEType: type }) ? await o.config() : undefined;
    const wantsDiffIDs = updateNeedsLayerDiffIDs(view, { targetMIMEType: type });
    const diffIDs = o.copied.map((b) => b.diffID);
    if (wantsDiffIDs && diffIDs.some((d) => d === undefined)) {
      throw new ManifestTypeRejectedError(`converting to ${type} needs the layers' uncompressed digests, which this copy did not compute`);
    }
    updated = await updateManifest(view, {
      layerInfos: o.copied.map((b) => b.info),
      targetMIMEType: type,
      ...(o.identity ? { embeddedReference: o.identity } : {}),
      ...(wantsDiffIDs ? { layerDiffIDs: diffIDs as Digest[] } : {}),
      ...(configBytes ? { configBytes } : {}),
    });
  }
  for (const nb of updated.newBlobs) {
    const info = { digest: nb.digest, size: nb.size, mediaType: nb.mediaType };
    const flags = { ...(nb.isConfig ? { isConfig: true } : {}), ...(nb.emptyLayer ? { emptyLayer: true } : {}) };
    const reused = await dest.tryReusingBlob(info, { cache: c.blobs.cache, canSubstitute: false, ...flags, ...(signal ? { signal } : {}) });
    if (!reused) await dest.putBlob(streamOf(nb.bytes), info, { cache: c.blobs.cache, ...flags, ...(signal ? { signal } : {}) });
  }
  c.blobs.reporter.line("Writing manifest to image destination");
  await dest.putManifest(updated.bytes, o.asInstance ? updated.digest : undefined, { ...(signal ? { signal } : {}) });
  return updated;
}
