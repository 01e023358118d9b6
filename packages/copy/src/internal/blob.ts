import { compressStream, compressorNameOf, decompressStream, detectCompression } from "@stevedore/compression";
import {
  UNCOMPRESSED,
  drain,
  imageName,
  measureStream,
  verifyStream,
  type ArtifactKind,
  type BlobInfo,
  type BlobInfoCache,
  type BlobStream,
  type CompressionAlgorithmName,
  type CompressionOperation,
  type Digest,
  type ImageDestination,
  type ImageSource,
} from "@stevedore/types";
import { Channel } from "./channel.js";
import type { Reporter } from "./report.js";

/** How a copy may treat one layer. */
export interface LayerPlan {
  /** The layer as the source describes it. */
  info: BlobInfo;
  index: number;
  kind: ArtifactKind;
  /** The copy may change this blob (recompress, substitute another compression). */
  canModify: boolean;
  /** Its media type has compression variants (image layers; not artifacts, not encrypted). */
  canChangeCompression: boolean;
  /** The uncompressed digest must be known after the copy (schema 1 conversion). */
  needDiffID: boolean;
  emptyLayer?: boolean;
}

/** Shared settings of one copy. */
export interface BlobCopyContext {
  src: ImageSource;
  dest: ImageDestination;
  cache: BlobInfoCache;
  reporter: Reporter;
  /** Wanted compression when the destination wants compressed layers. */
  compressionFormat: CompressionAlgorithmName;
  /** Whether `compressionFormat` was asked for explicitly (then other compressions are recompressed). */
  compressionFormatExplicit: boolean;
  compressionLevel?: number;
}

/** What was stored for a layer: the BlobInfo the manifest update needs, and its uncompressed digest when known. */
export interface CopiedBlob {
  info: BlobInfo;
  diffID?: Digest;
}

/** Tees `stream`: passes it on unchanged while a side task decompresses (if needed) and digests it. */
function teeUncompressedDigest(stream: BlobStream, algorithm: CompressionAlgorithmName | undefined): { stream: BlobStream; diffID: Promise<Digest> } {
  if (algorithm === undefined) {
    const m = measureStream(stream);
    return { stream: m.stream, diffID: m.result.then((r) => r.digest) };
  }
  const chan = new Channel<Uint8Array>(16);
  const side = measureStream(decompressStream(chan, algorithm));
  const diffID = (async () => {
    await drain(side.stream);
    return (await side.result).digest;
  })();
  diffID.catch(() => {});
  const out = (async function* () {
    try {
      for await (const c of stream) {
        await chan.push(c);
        yield c;
      }
      chan.end();
    } catch (e) {
      chan.fail(e);
      throw e;
    }
  })();
  return { stream: out, diffID };
}

/**
 * Copies one layer or config blob: reuse at the destination when possible,
 * otherwise stream it from the source, verified against its digest and size,
 * recompressed as the destination and options want.
 */
export async function copyBlob(ctx: BlobCopyContext, plan: LayerPlan, signal: AbortSignal): Promise<CopiedBlob> {
  const { src, dest, cache, reporter } = ctx;
  const info = plan.info;
  const srcDigest = info.digest!;
  const what = `${plan.kind === "config" ? "config" : `layer ${plan.index + 1}`} ${srcDigest} of ${imageName(src.reference)}`;
  const knownDiffID = plan.needDiffID ? cache.uncompressedDigest(srcDigest) : undefined;

  // 1. Reuse: the destination has it, can mount it, or has a known other compression of it.
  if (!plan.needDiffID || knownDiffID !== undefined) {
    const reused = await dest.tryReusingBlob(info, {
      cache,
      canSubstitute: plan.canModify && plan.canChangeCompression && !plan.needDiffID,
      ...(plan.emptyLayer !== undefined ? { emptyLayer: plan.emptyLayer } : {}),
      ...(plan.kind === "layer" ? { layerIndex: plan.index } : {}),
      srcRef: src.reference,
      signal,
    });
    if (reused) {
      reporter.skipped(info, plan.kind, reused.reason ?? "already exists");
      const out: BlobInfo = { ...info, digest: reused.digest, size: reused.size };
      if (reused.compressionOperation !== undefined) out.compressionOperation = reused.compressionOperation;
      if (reused.compressionAlgorithm !== undefined) out.compressionAlgorithm = reused.compressionAlgorithm;
      return { info: out, ...(knownDiffID !== undefined ? { diffID: knownDiffID } : {}) };
    }
  }

  // 2. Stream it.
  reporter.started(info, plan.kind);
  const got = await src.getBlob(info, cache, { signal });
  const expectedSize = info.size >= 0 ? info.size : got.size;
  let offset = 0;
  let stream: BlobStream = verifyStream(got.stream, { digest: srcDigest, size: expectedSize }, {
    what,
    signal,
    onBytes: (delta) => {
      offset += delta;
      reporter.bytes(info, plan.kind, offset, delta);
    },
  });

  let op: CompressionOperation = "preserve";
  let algorithm: CompressionAlgorithmName | undefined;
  let diffID: Promise<Digest> | undefined;
  let detected: CompressionAlgorithmName | undefined;

  if (plan.kind === "layer" && plan.canModify && plan.canChangeCompression) {
    const d = await detectCompression(stream, { signal });
    stream = d.stream;
    detected = d.algorithm;
    const desired = dest.capabilities.desiredLayerCompression;
    const want = ctx.compressionFormat;
    if (desired === "compress" && detected === undefined) {
      // Uncompressed → compress. The input is its own uncompressed digest.
      const m = measureStream(stream);
      diffID = m.result.then((r) => r.digest);
      stream = compressStream(m.stream, want, { level: ctx.compressionLevel, signal });
      op = "compress";
      algorithm = want;
    } else if (desired === "compress" && detected !== undefined && ctx.compressionFormatExplicit && detected !== want) {
      // Recompress with the asked-for algorithm.
      const m = measureStream(decompressStream(stream, detected, { signal }));
      diffID = m.result.then((r) => r.digest);
      stream = compressStream(m.stream, want, { level: ctx.compressionLevel, signal });
      op = "compress";
      algorithm = want;
    } else if (desired === "decompress" && detected !== undefined) {
      stream = decompressStream(stream, detected, { signal });
      op = "decompress";
    } else if (plan.needDiffID) {
      const t = teeUncompressedDigest(stream, detected);
      stream = t.stream;
      diffID = t.diffID;
      algorithm = detected;
    } else {
      algorithm = detected;
    }
  } else if (plan.needDiffID) {
    const d = await detectCompression(stream, { signal });
    detected = d.algorithm;
    const t = teeUncompressedDigest(d.stream, detected);
    stream = t.stream;
    diffID = t.diffID;
  }
  diffID?.catch(() => {});

  const preserved = op === "preserve";
  const stored = await dest.putBlob(
    stream,
    {
      ...info,
      ...(preserved ? {} : { digest: undefined, size: -1 }),
    },
    {
      cache,
      ...(plan.kind === "config" ? { isConfig: true } : { layerIndex: plan.index }),
      ...(plan.emptyLayer !== undefined ? { emptyLayer: plan.emptyLayer } : {}),
      signal,
    },
  );
  const uncompressed = op === "decompress" ? stored.digest : diffID ? await diffID : undefined;
  reporter.done(info, plan.kind, stored.size);

  // 3. Remember what was verified locally.
  if (plan.kind === "layer") {
    if (uncompressed !== undefined) {
      cache.recordDigestUncompressedPair(stored.digest, uncompressed);
      if (op !== "preserve" || detected !== undefined) cache.recordDigestUncompressedPair(srcDigest, uncompressed);
    }
    if (op === "compress") cache.recordDigestCompressorName(stored.digest, compressorNameOf(algorithm));
    if (op === "decompress") {
      cache.recordDigestCompressorName(stored.digest, UNCOMPRESSED);
      if (detected !== undefined) cache.recordDigestCompressorName(srcDigest, compressorNameOf(detected));
    }
    if (op === "preserve" && plan.canChangeCompression && plan.canModify) cache.recordDigestCompressorName(srcDigest, compressorNameOf(detected));
  }

  const out: BlobInfo = { ...info, digest: stored.digest, size: stored.size };
  if (op !== "preserve") {
    out.compressionOperation = op;
    if (algorithm !== undefined) out.compressionAlgorithm = algorithm;
  }
  return { info: out, ...(uncompressed !== undefined ? { diffID: uncompressed } : {}) };
}
