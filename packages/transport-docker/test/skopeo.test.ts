// Interoperability with the real skopeo (containers/image) on the same registry.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { makeFixtureImage, startRegistry, type FixtureImage, type RegistryHandle } from "@stevedore/testing";
import { dockerTransport } from "@stevedore/transport-docker";
import type { SystemContext } from "@stevedore/types";
import { isolatedContext, pushImage, readBlob, sha256, skopeo } from "./helpers.js";

let registry: RegistryHandle;
let work: string;
let ctx: SystemContext;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "stevedore-docker-skopeo-"));
  ({ ctx, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true }));
});
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Writes an OCI image layout by hand: oci-layout, index.json naming the manifest `tag`, blobs/sha256/…. */
async function writeLayout(path: string, img: FixtureImage, tag: string): Promise<void> {
  await mkdir(join(path, "blobs", "sha256"), { recursive: true });
  await writeFile(join(path, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  const blobs = new Map(img.blobs);
  blobs.set(img.digest, img.manifest);
  for (const [digest, bytes] of blobs) await writeFile(join(path, "blobs", "sha256", digest.slice("sha256:".length)), bytes);
  await writeFile(
    join(path, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: img.mimeType, digest: img.digest, size: img.manifest.length, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
}

test("an image skopeo pushes from a hand-written OCI layout reads back through our source with identical digests and bytes", async () => {
  const img = makeFixtureImage({ layers: 2 });
  const layout = join(work, "from-skopeo");
  await writeLayout(layout, img, "v1");
  const copy = await skopeo(["copy", "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${registry.host}/interop/from-skopeo:v1`], work);
  expect(copy.stderr).toBe("");
  expect(copy.code).toBe(0);
  const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/interop/from-skopeo:v1`], work);
  expect(raw.code).toBe(0);

  const src = await dockerTransport.parseReference(`//${registry.host}/interop/from-skopeo:v1`).newImageSource(ctx);
  try {
    const m = await src.getManifest();
    expect(sha256(m.bytes)).toBe(sha256(raw.stdout));
    expect(sha256(m.bytes)).toBe(img.digest);
    expect(m.mimeType).toBe("application/vnd.oci.image.manifest.v1+json");
    const cache = createMemoryCache();
    for (const [digest, bytes] of img.blobs) expect(await readBlob(src, digest, bytes.length, cache)).toEqual(bytes);
  } finally {
    await src.close();
  }
});

test("an image our destination writes is inspected and copied back to an OCI layout by skopeo with identical digests", async () => {
  // OCI, because skopeo converts anything else when writing an oci: layout.
  const img = makeFixtureImage({ format: "oci", layers: 2 });
  const text = `//${registry.host}/interop/from-stevedore:v1`;
  await pushImage(dockerTransport, text, ctx, img, createMemoryCache());

  const inspect = await skopeo(["inspect", "--tls-verify=false", `docker:${text}`], work);
  expect(inspect.stderr).toBe("");
  expect(inspect.code).toBe(0);
  const info = JSON.parse(inspect.stdout) as { Digest: string; Layers: string[] };
  expect(info.Digest).toBe(img.digest);
  expect(info.Layers).toEqual(img.layers.map((l) => l.digest));

  const out = join(work, "to-skopeo");
  const copy = await skopeo(["copy", "--src-tls-verify=false", `docker:${text}`, `oci:${out}:copied`], work);
  expect(copy.stderr).toBe("");
  expect(copy.code).toBe(0);
  const index = JSON.parse(await readFile(join(out, "index.json"), "utf8")) as { manifests: { digest: string }[] };
  expect(index.manifests.map((m) => m.digest)).toEqual([img.digest]);
  for (const [digest, bytes] of img.blobs) {
    expect(new Uint8Array(await readFile(join(out, "blobs", "sha256", digest.slice(7))))).toEqual(bytes);
  }
});
