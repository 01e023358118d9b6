import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseImageName } from "@stevedore/alltransports";
import { openSqliteCache } from "@stevedore/blobinfocache-sqlite";
import { copyImage } from "@stevedore/copy";
import { parseManifest } from "@stevedore/manifest";
import { makeFixtureImage, startFaultProxy, startRegistry, type FaultProxy, type RegistryHandle } from "@stevedore/testing";
import type { ProgressEvent, SystemContext } from "@stevedore/types";
import { tempDir, writeLayout } from "./helpers.js";

// Blob reuse across copies and repositories through the persistent cache:
// every copy goes through a proxy that counts the body bytes moved.
let registryA: RegistryHandle;
let registryB: RegistryHandle;
let proxyA: FaultProxy;
let proxyB: FaultProxy;
const work = tempDir("stevedore-reuse-");
const ctx: SystemContext = { dockerInsecureSkipTLSVerify: true };
const img = makeFixtureImage({ layers: 3, layerSize: 256 * 1024 });
const layerBytes = img.layers.reduce((n, l) => n + l.size, 0);
const layout = join(work.dir, "layout");
writeLayout(layout, "v1", img);

beforeAll(async () => {
  registryA = await startRegistry();
  registryB = await startRegistry();
  proxyA = await startFaultProxy({ target: registryA.url });
  proxyB = await startFaultProxy({ target: registryB.url });
});
afterAll(async () => {
  await proxyA?.stop();
  await proxyB?.stop();
  await registryA?.stop();
  await registryB?.stop();
  work.cleanup();
});

async function copy(src: string, dest: string, cache: ReturnType<typeof openSqliteCache>) {
  const events: ProgressEvent[] = [];
  const r = await copyImage(undefined, await parseImageName(dest), await parseImageName(src), {
    sourceCtx: ctx,
    destinationCtx: ctx,
    blobInfoCache: cache,
    progress: (e) => events.push(e),
  });
  const skipped = events.filter((e): e is Extract<ProgressEvent, { type: "artifact-skipped" }> => e.type === "artifact-skipped");
  return { result: r, skipped };
}

function uploadsOf(p: FaultProxy): { posts: string[]; bodies: number } {
  const posts = p.requests.filter((r) => r.method === "POST" && r.path.includes("/blobs/uploads/")).map((r) => r.path);
  const bodies = p.requests.filter((r) => (r.method === "PATCH" || r.method === "PUT") && r.path.includes("/blobs/uploads/")).length;
  return { posts, bodies };
}

describe("blob reuse with the sqlite blob-info cache", () => {
  test("pushing to a second repository mounts every blob instead of uploading it", async () => {
    const cache = openSqliteCache(join(work.dir, "cache-mount.sqlite"));
    try {
      await copy(`oci:${layout}:v1`, `docker://${proxyA.host}/reuse/one:v1`, cache);
      proxyA.clearRequests();
      const { skipped } = await copy(`oci:${layout}:v1`, `docker://${proxyA.host}/reuse/two:v1`, cache);
      const up = uploadsOf(proxyA);
      expect(up.posts.filter((p) => p.includes("mount=")).length).toBe(img.layers.length + 1);
      expect(up.bodies).toBe(0);
      expect(proxyA.traffic().requestBodyBytes).toBeLessThan(4096); // the manifest only
      expect(skipped.map((s) => s.reason).filter((r) => r === "mounted")).toHaveLength(img.layers.length + 1);
      console.log(`mount push moved ${proxyA.traffic().requestBodyBytes} request body bytes (layers: ${layerBytes})`);
    } finally {
      cache.dispose();
    }
  });

  test("an image pulled into docker-archive (uncompressed) pushes back without uploading its layers", async () => {
    const cache = openSqliteCache(join(work.dir, "cache-archive.sqlite"));
    try {
      await copy(`oci:${layout}:v1`, `docker://${proxyA.host}/reuse/src:v1`, cache);
      const archive = join(work.dir, "pulled.tar");
      await copy(`docker://${proxyA.host}/reuse/src:v1`, `docker-archive:${archive}:example.com/reuse:v1`, cache);
      proxyA.clearRequests();
      const { result, skipped } = await copy(`docker-archive:${archive}`, `docker://${proxyA.host}/reuse/back:v1`, cache);
      const layerUploads = proxyA.requests.filter((r) => (r.method === "PATCH" || r.method === "PUT") && r.path.includes("/blobs/uploads/"));
      // Only the config may be uploaded (docker-archive regenerates nothing else; the config is reused too when known).
      expect(layerUploads.length).toBeLessThanOrEqual(1);
      expect(proxyA.traffic().requestBodyBytes).toBeLessThan(img.config.size + 4096);
      const view = parseManifest(result.manifest);
      if (view.kind !== "image") throw new Error("expected an image");
      // The registry's gzip blobs were reused: the manifest names them, not the uncompressed ones.
      expect(view.layers.map((l) => l.digest)).toEqual(img.layers.map((l) => l.digest));
      expect(skipped.filter((s) => s.kind === "layer")).toHaveLength(img.layers.length);
      console.log(`docker-archive push-back moved ${proxyA.traffic().requestBodyBytes} request body bytes (layers: ${layerBytes})`);
    } finally {
      cache.dispose();
    }
  });

  test("copying registry to registry twice moves no layer data the second time", async () => {
    const cache = openSqliteCache(join(work.dir, "cache-r2r.sqlite"));
    try {
      await copy(`oci:${layout}:v1`, `docker://${proxyA.host}/reuse/r2r:v1`, cache);
      proxyA.clearRequests();
      proxyB.clearRequests();
      await copy(`docker://${proxyA.host}/reuse/r2r:v1`, `docker://${proxyB.host}/reuse/r2r:v1`, cache);
      const first = { down: proxyA.traffic().responseBodyBytes, up: proxyB.traffic().requestBodyBytes };
      expect(first.up).toBeGreaterThanOrEqual(layerBytes);
      proxyA.clearRequests();
      proxyB.clearRequests();
      const { skipped } = await copy(`docker://${proxyA.host}/reuse/r2r:v1`, `docker://${proxyB.host}/reuse/r2r:v2`, cache);
      const second = { down: proxyA.traffic().responseBodyBytes, up: proxyB.traffic().requestBodyBytes };
      expect(second.up).toBeLessThan(4096);
      expect(second.down).toBeLessThan(img.config.size + 8192); // manifest (and nothing of the layers)
      expect(skipped.every((s) => s.reason === "exists")).toBe(true);
      console.log(`r2r first copy: ${first.down} down / ${first.up} up; second: ${second.down} down / ${second.up} up`);
    } finally {
      cache.dispose();
    }
  });
});
