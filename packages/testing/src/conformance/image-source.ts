import {
  AbortError,
  BlobUnknownError,
  StevedoreError,
  digestOf,
  readAll,
  type Digest,
  type ImageSource,
} from "@stevedore/types";
import type { FixtureImage, FixtureIndex } from "../image-fixture.js";
import type { TestApi } from "./api.js";
import { descriptorsOf, nullCache } from "./internal.js";

/** What a source factory returns for {@link imageSourceConformance}. */
export interface SourceUnderTest {
  source: ImageSource;
  /** The image the source was prepared with. */
  image: FixtureImage;
  /** When the source holds an index: the index it was prepared with (`image` is then one of its images). */
  index?: FixtureIndex;
  /** Removes what the factory made (after `source.close()`). */
  cleanup?: () => Promise<void>;
}

/** Options of {@link imageSourceConformance}. */
export interface ImageSourceConformanceOptions {
  /**
   * The source serves the manifest it was written with, byte for byte
   * (false for formats that generate a manifest, e.g. docker-archive).
   */
  manifestIdentical?: boolean;
}

const ABSENT = `sha256:${"0".repeat(63)}1` as Digest;

/**
 * The behaviour every `ImageSource` must have. `open` prepares an image with
 * the transport (e.g. writes a fixture by hand or with a peer tool) and opens
 * a source on it.
 */
export function imageSourceConformance(
  api: TestApi,
  name: string,
  open: () => Promise<SourceUnderTest>,
  options: ImageSourceConformanceOptions = {},
): void {
  const { describe, test, expect } = api;
  const identical = options.manifestIdentical ?? true;

  async function withSource(fn: (s: SourceUnderTest) => Promise<void>): Promise<void> {
    const s = await open();
    try {
      await fn(s);
    } finally {
      await s.source.close();
      await s.cleanup?.();
    }
  }

  describe(`ImageSource conformance: ${name}`, () => {
    test("capabilities are declared", () =>
      withSource(async ({ source }) => {
        expect(typeof source.capabilities.threadSafeGetBlob).toBe("boolean");
        expect(typeof source.capabilities.getBlobAt).toBe("boolean");
        if (source.capabilities.getBlobAt) expect(typeof source.getBlobAt).toBe("function");
        expect(source.reference.transport.name).toMatch(/^[a-z][a-z0-9-]*$/);
      }));

    test("getManifest() returns the manifest bytes and a MIME type", () =>
      withSource(async ({ source, image, index }) => {
        const m = await source.getManifest();
        expect(m.bytes.length).toBeGreaterThan(0);
        expect(typeof m.mimeType).toBe("string");
        const top = index ?? image;
        if (identical) {
          expect(digestOf(m.bytes)).toBe(top.digest);
          if (m.mimeType !== "") expect(m.mimeType).toBe(top.mimeType);
        } else {
          const d = descriptorsOf(m.bytes);
          expect(d.layers.length).toBe(image.layers.length);
        }
      }));

    test("getBlob() serves every blob the manifest references, matching its digest", () =>
      withSource(async ({ source, image, index }) => {
        let manifest = (await source.getManifest()).bytes;
        if (index) manifest = (await source.getManifest(image.digest)).bytes;
        const { config, layers } = descriptorsOf(manifest);
        const all = [...(config ? [config] : []), ...layers];
        expect(all.length).toBeGreaterThan(0);
        for (const d of all) {
          const { stream, size } = await source.getBlob({ digest: d.digest, size: d.size, mediaType: d.mediaType }, nullCache);
          const bytes = await readAll(stream);
          expect(digestOf(bytes)).toBe(d.digest);
          expect(bytes.length).toBe(d.size);
          expect(size === -1 || size === d.size).toBe(true);
        }
      }));

    test("getBlob() of a blob that is not there fails with BlobUnknownError", () =>
      withSource(async ({ source }) => {
        const attempt = async () => {
          const { stream } = await source.getBlob({ digest: ABSENT, size: -1 }, nullCache);
          await readAll(stream);
        };
        await expect(attempt()).rejects.toBeInstanceOf(BlobUnknownError);
      }));

    test("getBlob() with an aborted signal fails with AbortError", () =>
      withSource(async ({ source, image }) => {
        const ac = new AbortController();
        ac.abort();
        const l = image.layers[0]!;
        const attempt = async () => {
          const { stream } = await source.getBlob({ digest: l.digest, size: l.size }, nullCache, { signal: ac.signal });
          await readAll(stream);
        };
        await expect(attempt()).rejects.toBeInstanceOf(AbortError);
      }));

    test("getBlob() may run concurrently when threadSafeGetBlob", () =>
      withSource(async ({ source, image, index }) => {
        if (!source.capabilities.threadSafeGetBlob) {
          expect(source.capabilities.threadSafeGetBlob).toBe(false);
          return;
        }
        let manifest = (await source.getManifest()).bytes;
        if (index) manifest = (await source.getManifest(image.digest)).bytes;
        const { layers } = descriptorsOf(manifest);
        const got = await Promise.all(
          layers.map(async (d) => digestOf(await readAll((await source.getBlob({ digest: d.digest, size: d.size }, nullCache)).stream))),
        );
        expect(got).toEqual(layers.map((d) => d.digest));
      }));

    test("getManifest(instance) returns that instance of an index", () =>
      withSource(async ({ source, index }) => {
        if (!index) {
          // A single image: asking for an instance it does not have is an error.
          await expect(source.getManifest(ABSENT)).rejects.toBeInstanceOf(StevedoreError);
          return;
        }
        for (const img of index.images) {
          const m = await source.getManifest(img.digest);
          expect(digestOf(m.bytes)).toBe(img.digest);
        }
        await expect(source.getManifest(ABSENT)).rejects.toBeInstanceOf(StevedoreError);
      }));

    test("getSignatures() resolves to a list", () =>
      withSource(async ({ source }) => {
        expect(Array.isArray(await source.getSignatures())).toBe(true);
      }));

    test("layerInfosForCopy() is undefined or one entry per layer", () =>
      withSource(async ({ source, image, index }) => {
        const infos = await source.layerInfosForCopy(index ? image.digest : undefined);
        if (infos === undefined) return;
        expect(infos.length).toBe(image.layers.length);
        for (const i of infos) expect(i.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
      }));

    test("close() may be called twice", async () => {
      const s = await open();
      await s.source.close();
      await s.source.close();
      await s.cleanup?.();
    });
  });
}
