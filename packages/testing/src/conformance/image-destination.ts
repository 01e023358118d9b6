import {
  AbortError,
  DigestMismatchError,
  SizeMismatchError,
  StevedoreError,
  digestOf,
  readAll,
  streamOf,
  type BlobStream,
  type Digest,
  type ImageDestination,
  type ImageSource,
} from "@stevedore/types";
import { makeFixtureImage, type FixtureImage, type FixtureImageOptions } from "../image-fixture.js";
import type { TestApi } from "./api.js";
import { descriptorsOf, nullCache } from "./internal.js";

/** A destination target prepared for {@link imageDestinationConformance}. */
export interface DestinationUnderTest {
  /** Opens a destination on the target. May be called more than once. */
  open(): Promise<ImageDestination>;
  /** Opens what was committed as a source; rejects when nothing was committed. */
  openSource(): Promise<ImageSource>;
  /** A fingerprint of everything at the target (files and their contents, tags, ...), to prove "unchanged". */
  snapshot(): Promise<string>;
  /** Removes the target. */
  cleanup?: () => Promise<void>;
}

/** Options of {@link imageDestinationConformance}. */
export interface ImageDestinationConformanceOptions {
  /** The fixture written (default: OCI, gzip layers). */
  image?: FixtureImageOptions;
  /** Reading back yields the manifest bytes written (false when the format regenerates it). */
  manifestIdentical?: boolean;
  /** Reading back yields the layer blobs written (false when the format stores layers decompressed). */
  layersIdentical?: boolean;
}

function chunked(bytes: Uint8Array, n = 3): BlobStream {
  const parts: Uint8Array[] = [];
  const step = Math.max(1, Math.ceil(bytes.length / n));
  for (let i = 0; i < bytes.length; i += step) parts.push(bytes.subarray(i, i + step));
  return streamOf(...parts);
}

async function writeImage(dest: ImageDestination, img: FixtureImage): Promise<void> {
  for (const [i, l] of img.layers.entries()) {
    const r = await dest.putBlob(chunked(l.bytes), { digest: l.digest, size: l.size, mediaType: l.mediaType }, { cache: nullCache, layerIndex: i });
    if (r.digest !== l.digest) throw new Error(`putBlob stored ${r.digest} for ${l.digest}`);
  }
  await dest.putBlob(chunked(img.config.bytes), { digest: img.config.digest, size: img.config.size, mediaType: img.config.mediaType }, { cache: nullCache, isConfig: true });
  await dest.putManifest(img.manifest);
}

/**
 * The behaviour every `ImageDestination` must have: digests and sizes
 * verified while streaming, reuse of what it stored, nothing visible until
 * `commit()`, nothing changed by a failed or abandoned write.
 */
export function imageDestinationConformance(
  api: TestApi,
  name: string,
  prepare: () => Promise<DestinationUnderTest>,
  options: ImageDestinationConformanceOptions = {},
): void {
  const { describe, test, expect } = api;
  const manifestIdentical = options.manifestIdentical ?? true;
  const layersIdentical = options.layersIdentical ?? true;
  const fixture = () => makeFixtureImage(options.image ?? {});

  async function withTarget(fn: (t: DestinationUnderTest) => Promise<void>): Promise<void> {
    const t = await prepare();
    try {
      await fn(t);
    } finally {
      await t.cleanup?.();
    }
  }

  describe(`ImageDestination conformance: ${name}`, () => {
    test("capabilities are declared", () =>
      withTarget(async (t) => {
        const d = await t.open();
        try {
          const c = d.capabilities;
          expect(Array.isArray(c.supportedManifestMIMETypes)).toBe(true);
          expect(["preserve", "compress", "decompress"]).toContain(c.desiredLayerCompression);
          for (const k of ["supportsSignatures", "acceptsForeignLayerURLs", "mustMatchRuntimeOS", "ignoresEmbeddedDockerReference", "threadSafePutBlob"] as const) {
            expect(typeof c[k]).toBe("boolean");
          }
          if (!c.supportsSignatures) expect(c.signaturesUnsupportedReason ?? "").not.toBe("");
        } finally {
          await d.close();
        }
      }));

    test("a committed image reads back with the same digests", () =>
      withTarget(async (t) => {
        const img = fixture();
        const d = await t.open();
        try {
          await writeImage(d, img);
          await d.commit({ toplevel: { bytes: img.manifest, mimeType: img.mimeType } });
        } finally {
          await d.close();
        }
        const s = await t.openSource();
        try {
          const m = await s.getManifest();
          if (manifestIdentical) expect(digestOf(m.bytes)).toBe(img.digest);
          const { config, layers } = descriptorsOf(m.bytes);
          expect(layers.length).toBe(img.layers.length);
          expect(config?.digest).toBe(img.config.digest);
          const cfg = await readAll((await s.getBlob({ digest: img.config.digest, size: img.config.size }, nullCache)).stream);
          expect(cfg).toEqual(img.config.bytes);
          for (const [i, l] of layers.entries()) {
            const bytes = await readAll((await s.getBlob({ digest: l.digest, size: l.size }, nullCache)).stream);
            expect(digestOf(bytes)).toBe(l.digest);
            if (layersIdentical) expect(l.digest).toBe(img.layers[i]!.digest);
          }
        } finally {
          await s.close();
        }
      }));

    test("putBlob() without a digest computes and returns it", () =>
      withTarget(async (t) => {
        const d = await t.open();
        try {
          const l = fixture().layers[0]!;
          const r = await d.putBlob(chunked(l.bytes), { size: -1, mediaType: l.mediaType }, { cache: nullCache, layerIndex: 0 });
          expect(r).toEqual({ digest: l.digest, size: l.size });
        } finally {
          await d.close();
        }
      }));

    test("putBlob() with a wrong digest fails with DigestMismatchError and leaves the target unchanged", () =>
      withTarget(async (t) => {
        const before = await t.snapshot();
        const d = await t.open();
        try {
          const l = fixture().layers[0]!;
          const wrong = digestOf(new Uint8Array([1, 2, 3]));
          await expect(d.putBlob(chunked(l.bytes), { digest: wrong, size: l.size }, { cache: nullCache, layerIndex: 0 })).rejects.toBeInstanceOf(DigestMismatchError);
          expect(await d.tryReusingBlob({ digest: wrong, size: l.size }, { cache: nullCache, canSubstitute: false })).toBeUndefined();
        } finally {
          await d.close();
        }
        expect(await t.snapshot()).toBe(before);
      }));

    test("putBlob() of content longer than its size fails with SizeMismatchError", () =>
      withTarget(async (t) => {
        const d = await t.open();
        try {
          const l = fixture().layers[0]!;
          await expect(d.putBlob(chunked(l.bytes), { digest: l.digest, size: l.size - 1 }, { cache: nullCache })).rejects.toBeInstanceOf(SizeMismatchError);
        } finally {
          await d.close();
        }
      }));

    test("tryReusingBlob() finds a blob it stored and nothing else", () =>
      withTarget(async (t) => {
        const d = await t.open();
        try {
          const l = fixture().layers[0]!;
          await d.putBlob(chunked(l.bytes), { digest: l.digest, size: l.size, mediaType: l.mediaType }, { cache: nullCache, layerIndex: 0 });
          const r = await d.tryReusingBlob({ digest: l.digest, size: l.size, mediaType: l.mediaType }, { cache: nullCache, canSubstitute: false, layerIndex: 0 });
          expect(r?.digest).toBe(l.digest);
          expect(r?.size).toBe(l.size);
          const absent = digestOf(new Uint8Array([9, 9, 9])) as Digest;
          expect(await d.tryReusingBlob({ digest: absent, size: 3 }, { cache: nullCache, canSubstitute: false })).toBeUndefined();
        } finally {
          await d.close();
        }
      }));

    test("close() without commit() leaves the target as it was", () =>
      withTarget(async (t) => {
        const before = await t.snapshot();
        const d = await t.open();
        try {
          await writeImage(d, fixture());
        } finally {
          await d.close();
        }
        expect(await t.snapshot()).toBe(before);
        await expect(t.openSource().then((s) => s.close())).rejects.toBeInstanceOf(StevedoreError);
      }));

    test("an aborted putBlob() fails with AbortError and leaves the target unchanged", () =>
      withTarget(async (t) => {
        const before = await t.snapshot();
        const d = await t.open();
        const ac = new AbortController();
        try {
          const l = fixture().layers[0]!;
          async function* slow(): BlobStream {
            yield l.bytes.subarray(0, 10);
            ac.abort();
            yield l.bytes.subarray(10);
          }
          await expect(d.putBlob(slow(), { digest: l.digest, size: l.size }, { cache: nullCache, signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
        } finally {
          await d.close();
        }
        expect(await t.snapshot()).toBe(before);
      }));

    test("close() may be called twice", () =>
      withTarget(async (t) => {
        const d = await t.open();
        await d.close();
        await d.close();
      }));
  });
}
