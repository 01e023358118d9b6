import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { unparsedInstance, wantedPlatformOf } from "@stevedore/image";
import {
  chooseInstance,
  chooseInstances,
  manifestDigest,
  matchesDigest,
  parseRawManifest,
  platformMatches,
  updateInstances,
  type InstanceUpdate,
  type ListManifestView,
} from "@stevedore/manifest";
import {
  DOCKER_LIST_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
} from "@stevedore/manifest";
import {
  DigestMismatchError,
  UnsupportedCapabilityError,
  UnsupportedManifestTypeError,
  imageName,
  throwIfAborted,
  type ImageDestination,
  type ImageReference,
  type ImageSource,
  type Signature,
} from "@stevedore/types";
import type { CopyOptions, CopyResult, PolicyContext } from "./options.js";
import { listTypeFor, supportsLists } from "./internal/manifest-choice.js";
import { runtimePlatform } from "./internal/platform.js";
import { Reporter } from "./internal/report.js";
import { copySingleImage, type Copier } from "./internal/single.js";

/** Default number of blobs copied at once, as skopeo's. */
export const DEFAULT_PARALLEL_BLOBS = 6;

/**
 * Copies the image `srcRef` names to `destRef`, as containers/image's
 * `copy.Image`: the trust policy is evaluated before any blob moves; layers
 * are reused at the destination when possible, otherwise streamed (in
 * parallel, verified against their digests, recompressed as the destination
 * or the options want); the manifest is converted to a type the destination
 * takes; signatures are kept (or removed, or added); then the destination is
 * committed. On any failure or abort the destination is closed without a
 * commit, which leaves it as it was.
 *
 * `policy` may be undefined only when the caller has decided to accept
 * anything (skopeo's `--insecure-policy`).
 */
export async function copyImage(
  policy: PolicyContext | undefined,
  destRef: ImageReference,
  srcRef: ImageReference,
  options: CopyOptions = {},
): Promise<CopyResult> {
  const signal = options.signal;
  throwIfAborted(signal);
  const reporter = new Reporter(options.progress, options.reportWriter);
  const cache = options.blobInfoCache ?? createMemoryCache();
  cache.open?.();
  let src: ImageSource | undefined;
  let dest: ImageDestination | undefined;
  try {
    src = await srcRef.newImageSource(options.sourceCtx, { signal });
    dest = await destRef.newImageDestination(options.destinationCtx, { signal });
    const compressionFormat = options.compressionFormat ?? options.destinationCtx?.compressionFormat;
    const compressionLevel = options.compressionLevel ?? options.destinationCtx?.compressionLevel;
    const c: Copier = {
      blobs: {
        src,
        dest,
        cache,
        reporter,
        compressionFormat: compressionFormat ?? "gzip",
        compressionFormatExplicit: compressionFormat !== undefined && (options.forceCompressionFormat ?? true),
        ...(compressionLevel !== undefined ? { compressionLevel } : {}),
      },
      destRef,
      dest,
      policy,
      options,
      signal,
      parallel: Math.max(1, options.maxParallelDownloads ?? DEFAULT_PARALLEL_BLOBS),
    };
    const result = await copyTopLevel(c, src);
    throwIfAborted(signal);
    await dest.commit({ toplevel: { bytes: result.manifest, mimeType: result.mimeType }, ...(signal ? { signal } : {}) });
    return result;
  } finally {
    await Promise.allSettled([dest?.close(), src?.close()]);
    cache.close?.();
  }
}

async function copyTopLevel(c: Copier, src: ImageSource): Promise<CopyResult> {
  const { options, signal } = c;
  const top = unparsedInstance(src);
  const raw = await top.manifest({ signal });
  const view = parseRawManifest(raw);
  if (view.kind === "image") {
    const r = await copySingleImage(c, top, { asInstance: false, isTopLevel: true });
    return { manifest: r.bytes, mimeType: r.mimeType, digest: r.digest };
  }
  const selection = options.imageListSelection ?? "system";
  if (selection === "system") {
    // One instance for this machine, written as a plain image.
    const wanted = wantedPlatformOf(options.sourceCtx, options.runtimePlatform ?? runtimePlatform());
    const instance = chooseInstance(view, wanted);
    c.blobs.reporter.line(`Copying the image for ${wanted.os}/${wanted.architecture}${wanted.variant ? `/${wanted.variant}` : ""} from the list (${instance.digest})`);
    const r = await copySingleImage(c, unparsedInstance(src, instance.digest), { asInstance: false, isTopLevel: true });
    return { manifest: r.bytes, mimeType: r.mimeType, digest: r.digest };
  }
  return copyList(c, src, view);
}

function otherListType(t: string): string {
  return t === OCI_INDEX_MEDIA_TYPE ? DOCKER_LIST_MEDIA_TYPE : OCI_INDEX_MEDIA_TYPE;
}

/** Copies a list: the selected instances, then the list updated to their new digests. */
async function copyList(c: Copier, src: ImageSource, list: ListManifestView): Promise<CopyResult> {
  const { dest, destRef, options, signal } = c;
  const destTypes = dest.capabilities.supportedManifestMIMETypes;
  if (!supportsLists(destTypes)) {
    throw new UnsupportedCapabilityError(
      `${imageName(destRef)} cannot store a manifest list (it takes ${destTypes.join(", ")}); copy one image (the default) or choose a platform instead of --all`,
    );
  }
  const top = unparsedInstance(src);
  // Policy for the list itself, before anything else is read.
  await c.policy?.isRunningImageAllowed(top, { signal });
  const sigs: Signature[] = options.removeSignatures ? [] : await top.signatures({ signal });
  if (sigs.length > 0 && !dest.capabilities.supportsSignatures) {
    throw new UnsupportedCapabilityError(
      `the source list has ${sigs.length} signature(s) but ${imageName(destRef)} cannot store them (${dest.capabilities.signaturesUnsupportedReason ?? "no signature support"}); use --remove-signatures`,
    );
  }
  const destDigest = destRef.dockerReference()?.digest;
  if (destDigest !== undefined && !matchesDigest(list.bytes, destDigest)) {
    throw new DigestMismatchError(`${imageName(destRef)}: the source list does not match the digest the destination names`, destDigest, list.digest);
  }
  const selection = options.imageListSelection;
  const selected = new Set<string>();
  if (selection === "all") for (const i of list.instances) selected.add(i.digest);
  if (selection === "specific") {
    for (const d of options.instances ?? []) {
      if (!list.instances.some((i) => i.digest === d)) {
        throw new UnsupportedManifestTypeError(`instance ${d} is not in the list of ${imageName(src.reference)}`);
      }
      selected.add(d);
    }
    for (const p of options.instancePlatforms ?? []) {
      const matching = list.instances.filter((i) => i.platform && platformMatches(i.platform, p));
      if (matching.length === 0) {
        // Fall back to the Go library's compatible-variant choice; it throws a clear error when nothing fits.
        for (const i of chooseInstances(list, [p])) selected.add(i.digest);
      } else for (const i of matching) selected.add(i.digest);
    }
  }

  const updates: InstanceUpdate[] = [];
  let n = 0;
  for (const instance of list.instances) {
    if (!selected.has(instance.digest)) {
      updates.push({ digest: instance.digest, size: instance.size, mediaType: instance.mediaType });
      continue;
    }
    n++;
    c.blobs.reporter.line(`Copying image ${instance.digest} (${n}/${selected.size})`);
    const r = await copySingleImage(c, unparsedInstance(src, instance.digest), { asInstance: true, isTopLevel: false });
    updates.push({ digest: r.digest, size: r.bytes.length, mediaType: r.mimeType });
  }

  // The list type: the source's when the destination takes it, else the other list type
  // (or the one matching a forced image type).
  let listType = list.mimeType;
  if (options.forceManifestMIMEType !== undefined) listType = listTypeFor(options.forceManifestMIMEType);
  if (destTypes.length > 0 && !destTypes.includes(listType)) listType = otherListType(listType);
  const updated = await updateInstances(list, updates, listType);
  if (updated.changed && (sigs.length > 0 || options.preserveDigests || destDigest !== undefined)) {
    throw new UnsupportedManifestTypeError(
      `copying the list would change it (its instances were converted), but ${sigs.length > 0 ? "that would invalidate its signatures (use --remove-signatures)" : "digests must be preserved"}`,
    );
  }
  c.blobs.reporter.line("Writing manifest list to image destination");
  await dest.putManifest(updated.bytes, undefined, { ...(signal ? { signal } : {}) });
  const newSigs: Signature[] = [];
  for (const signer of options.signers ?? []) {
    const who = options.signIdentity ?? destRef.dockerReference();
    if (!who) throw new UnsupportedCapabilityError(`cannot sign: ${imageName(destRef)} has no docker reference to sign for; pass a signing identity`);
    c.blobs.reporter.line(`Signing manifest list using ${signer.description}`);
    newSigs.push(await signer.sign(updated.bytes, who, { ...(signal ? { signal } : {}) }));
  }
  if (sigs.length + newSigs.length > 0) {
    c.blobs.reporter.line("Storing list signatures");
    await dest.putSignatures([...sigs, ...newSigs], undefined, { ...(signal ? { signal } : {}) });
  }
  return { manifest: updated.bytes, mimeType: updated.mimeType, digest: manifestDigest(updated.bytes) };
}
