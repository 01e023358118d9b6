import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { makeFixtureImage, startFaultProxy, startRegistry, type RegistryHandle } from "@stevedore/testing";
import {
  createDockerTransport,
  dockerTransport,
  getManifestDigest,
  listRepositories,
  listTags,
} from "@stevedore/transport-docker";
import {
  BlobUnknownError,
  DigestMismatchError,
  InvalidDigestError,
  ManifestTypeRejectedError,
  ManifestUnknownError,
  NetworkError,
  PolicyRejectedError,
  readAll,
  SizeMismatchError,
  utf8,
  type SystemContext,
} from "@stevedore/types";
import { chunks, isolatedContext, pushImage, rawPushImage, readBlob, sha256 } from "./helpers.js";

let registry: RegistryHandle;
let ctx: SystemContext;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  registry = await startRegistry();
  ({ ctx, dir, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true }));
});
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

const unique = (prefix: string) => `${prefix}/r${randomBytes(4).toString("hex")}`;

describe("push and pull", () => {
  test("a Docker schema2 image pushed with the destination reads back byte for byte through the source", async () => {
    const img = makeFixtureImage({ format: "docker", layers: 3 });
    const repo = unique("pushpull");
    const cache = createMemoryCache();
    await pushImage(dockerTransport, `//${registry.host}/${repo}:v1`, ctx, img, cache);
    const src = await dockerTransport.parseReference(`//${registry.host}/${repo}:v1`).newImageSource(ctx);
    try {
      const m = await src.getManifest();
      expect(m.bytes).toEqual(img.manifest);
      expect(m.mimeType).toBe("application/vnd.docker.distribution.manifest.v2+json");
      for (const [digest, bytes] of img.blobs) expect(await readBlob(src, digest, bytes.length, cache)).toEqual(bytes);
    } finally {
      await src.close();
    }
    // Reading and writing recorded where the blobs are.
    const where = cache.candidateLocations("docker", registry.host, img.layers[0]!.digest, { canSubstitute: false });
    expect(where.map((c) => c.location)).toContain(`${registry.host}/${repo}`);
  });

  test("putBlob() without a digest computes it while streaming and the blob is then readable", async () => {
    const repo = unique("nodigest");
    const bytes = new Uint8Array(randomBytes(70_000));
    const dest = await dockerTransport.parseReference(`//${registry.host}/${repo}:x`).newImageDestination(ctx);
    const r = await dest.putBlob(chunks(bytes, 7), { size: -1 }, { cache: createMemoryCache() });
    expect(r).toEqual({ digest: sha256(bytes), size: bytes.length });
    const res = await fetch(`${registry.url}/v2/${repo}/blobs/${r.digest}`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes);
  });

  test("putBlob() reports progress of every byte", async () => {
    const bytes = new Uint8Array(randomBytes(12_345));
    const dest = await dockerTransport.parseReference(`//${registry.host}/${unique("progress")}:x`).newImageDestination(ctx);
    let seen = 0;
    await dest.putBlob(chunks(bytes, 5), { digest: sha256(bytes), size: bytes.length }, { cache: createMemoryCache(), onProgress: (d) => (seen += d) });
    expect(seen).toBe(bytes.length);
  });

  test("chunked uploads PATCH pieces of dockerRegistryChunkSize bytes with Content-Range", async () => {
    await using proxy = await startFaultProxy({ target: registry.url });
    const repo = unique("chunked");
    const bytes = new Uint8Array(randomBytes(5_500));
    const chunkCtx = { ...ctx, dockerRegistryChunkSize: 2_000 };
    const dest = await dockerTransport.parseReference(`//${proxy.host}/${repo}:x`).newImageDestination(chunkCtx);
    const known = await dest.putBlob(chunks(bytes, 3), { digest: sha256(bytes), size: bytes.length }, { cache: createMemoryCache() });
    expect(known.digest).toBe(sha256(bytes));
    const patches = proxy.requests.filter((r) => r.method === "PATCH");
    expect(patches.map((r) => r.headers["content-range"])).toEqual(["0-1999", "2000-3999", "4000-5499"]);
    expect(patches.map((r) => r.headers["content-length"])).toEqual(["2000", "2000", "1500"]);
    // Unknown digest: computed across the chunks.
    const other = new Uint8Array(randomBytes(4_100));
    const unknown = await dest.putBlob(chunks(other, 2), { size: -1 }, { cache: createMemoryCache() });
    expect(unknown).toEqual({ digest: sha256(other), size: other.length });
    const res = await fetch(`${registry.url}/v2/${repo}/blobs/${unknown.digest}`);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(other);
  });

  test("a registry that answers relative upload Locations is written to and read from", async () => {
    await using relative = await startRegistry({ config: { http: { relativeurls: true } } });
    const start = await fetch(`${relative.url}/v2/probe/blobs/uploads/`, { method: "POST" });
    expect(start.headers.get("location")).toMatch(/^\/v2\//);
    const img = makeFixtureImage();
    const cache = createMemoryCache();
    await pushImage(dockerTransport, `//${relative.host}/rel/app:v1`, ctx, img, cache);
    const src = await dockerTransport.parseReference(`//${relative.host}/rel/app:v1`).newImageSource(ctx);
    expect((await src.getManifest()).bytes).toEqual(img.manifest);
    expect(await readBlob(src, img.layers[1]!.digest, img.layers[1]!.size, cache)).toEqual(img.layers[1]!.bytes);
  });

  test("getBlob() with a size that disagrees with Content-Length fails with SizeMismatchError before reading", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("size");
    await rawPushImage(registry.url, repo, "v1", img);
    const src = await dockerTransport.parseReference(`//${registry.host}/${repo}:v1`).newImageSource(ctx);
    const l = img.layers[0]!;
    await expect(src.getBlob({ digest: l.digest, size: l.size + 1 }, createMemoryCache())).rejects.toBeInstanceOf(SizeMismatchError);
    await expect(src.getBlob({ digest: "sha256:xyz" as never, size: 1 }, createMemoryCache())).rejects.toBeInstanceOf(InvalidDigestError);
  });

  test("a missing tag fails with ManifestUnknownError naming the registry and repository", async () => {
    const repo = unique("missing");
    const err = await dockerTransport
      .parseReference(`//${registry.host}/${repo}:nope`)
      .newImageSource(ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestUnknownError);
    expect(String((err as Error).message)).toContain(`registry ${registry.host}`);
    expect(String((err as Error).message)).toContain(`repository ${repo}`);
  });

  test("getBlob() of a blob the repository does not have fails with BlobUnknownError", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("noblob");
    await rawPushImage(registry.url, repo, "v1", img);
    const src = await dockerTransport.parseReference(`//${registry.host}/${repo}:v1`).newImageSource(ctx);
    await expect(src.getBlob({ digest: sha256("absent"), size: -1 }, createMemoryCache())).rejects.toBeInstanceOf(BlobUnknownError);
  });
});

describe("registry to registry", () => {
  async function copy(fromText: string, toText: string, copyCtx: SystemContext): Promise<void> {
    const cache = createMemoryCache();
    const src = await dockerTransport.parseReference(fromText).newImageSource(copyCtx);
    const dest = await dockerTransport.parseReference(toText).newImageDestination(copyCtx);
    try {
      const m = await src.getManifest();
      const doc = JSON.parse(new TextDecoder().decode(m.bytes)) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
      for (const d of [doc.config, ...doc.layers]) {
        const info = { digest: d.digest as never, size: d.size };
        const { stream } = await src.getBlob(info, cache);
        const stored = await dest.putBlob(stream, info, { cache });
        expect(stored).toEqual({ digest: d.digest, size: d.size });
      }
      await dest.putManifest(m.bytes);
      await dest.commit();
    } finally {
      await src.close();
      await dest.close();
    }
  }

  test("streaming a source's blobs into a destination copies an image within one registry", async () => {
    const img = makeFixtureImage({ layers: 2, layerSize: 200_000 });
    const from = unique("r2r-from");
    const to = unique("r2r-to");
    await rawPushImage(registry.url, from, "v1", img);
    await copy(`//${registry.host}/${from}:v1`, `//${registry.host}/${to}:copied`, ctx);
    expect(await getManifestDigest(dockerTransport.parseReference(`//${registry.host}/${to}:copied`), ctx)).toBe(img.digest);
  });

  test("streaming a source's blobs into a destination copies an image across two registries", async () => {
    await using second = await startRegistry();
    const img = makeFixtureImage({ layers: 2, layerSize: 100_000 });
    const repo = unique("across");
    await rawPushImage(registry.url, repo, "v1", img);
    await copy(`//${registry.host}/${repo}:v1`, `//${second.host}/${repo}:v1`, ctx);
    const src = await dockerTransport.parseReference(`//${second.host}/${repo}:v1`).newImageSource(ctx);
    expect((await src.getManifest()).bytes).toEqual(img.manifest);
    for (const l of img.layers) expect(await readBlob(src, l.digest, l.size, createMemoryCache())).toEqual(l.bytes);
  });
});

describe("tags, catalog and delete", () => {
  test("putManifest() under a second tag tags the image and listTags() lists every tag", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("tags");
    await rawPushImage(registry.url, repo, "v1", img);
    for (const tag of ["v2", "v3", "latest"]) {
      const dest = await dockerTransport.parseReference(`//${registry.host}/${repo}:${tag}`).newImageDestination(ctx);
      await dest.putManifest(img.manifest);
      await dest.commit();
      await dest.close();
    }
    expect((await listTags(dockerTransport.parseReference(`//${registry.host}/${repo}`), ctx)).sort()).toEqual(["latest", "v1", "v2", "v3"]);
    expect((await listTags(`${registry.host}/${repo}:ignored`, ctx)).sort()).toEqual(["latest", "v1", "v2", "v3"]);
  });

  // Distribution 2.8 ignores `n` for tag lists (it paginates only the
  // catalog), so these pages come from the fault proxy, as a registry that
  // paginates tags (Harbor, Quay, ...) sends them.
  test("listTags() follows Link pages and skips empty and digest-shaped entries", async () => {
    await using proxy = await startFaultProxy({ target: registry.url });
    const repo = unique("pages");
    const page = (tags: unknown[], next?: string) => ({
      kind: "respond" as const,
      status: 200,
      headers: { "content-type": "application/json", ...(next ? { link: `<${next}>; rel="next"` } : {}) },
      body: JSON.stringify({ name: repo, tags }),
    });
    proxy.inject({ path: /\/tags\/list\?n=2$/, fault: page(["a", "b"], `/v2/${repo}/tags/list?n=2&last=b`) });
    proxy.inject({ path: /last=b$/, fault: page(["", `sha256:${"e".repeat(64)}`, "c"], `${proxy.url}/v2/${repo}/tags/list?n=2&last=c`) });
    proxy.inject({ path: /last=c$/, fault: page(["d"]) });
    expect(await listTags(`${proxy.host}/${repo}`, ctx, { pageSize: 2 })).toEqual(["a", "b", "c", "d"]);
    expect(proxy.requests.filter((r) => r.path.includes("/tags/list")).map((r) => r.path.replace(/^.*list/, ""))).toEqual(["?n=2", "?n=2&last=b", "?n=2&last=c"]);
  });

  test("listTags() refuses invalid tags, a next page on another origin, and endless pages", async () => {
    await using proxy = await startFaultProxy({ target: registry.url });
    const repo = unique("badpages");
    const json = (tags: unknown[], link?: string) => ({
      kind: "respond" as const,
      status: 200,
      headers: { "content-type": "application/json", ...(link ? { link } : {}) },
      body: JSON.stringify({ name: repo, tags }),
    });
    proxy.inject({ path: /tags\/list/, fault: json(["ok", "no/slash"]) });
    await expect(listTags(`${proxy.host}/${repo}`, ctx)).rejects.toThrow(/invalid tag "no\/slash"/);
    proxy.inject({ path: /tags\/list/, fault: json(["a"], `<http://127.0.0.1:1/v2/${repo}/tags/list?last=a>; rel="next"`) });
    await expect(listTags(`${proxy.host}/${repo}`, ctx)).rejects.toThrow(/another origin/);
    proxy.inject({ path: /tags\/list/, times: Infinity, fault: json(["a"], `</v2/${repo}/tags/list?last=a>; rel="next"`) });
    const limited = createDockerTransport({ maxListPages: 3 });
    await expect(listTags(limited.parseReference(`//${proxy.host}/${repo}`), ctx)).rejects.toThrow(/more than 3 pages/);
  });

  test("listTags() of a repository that does not exist fails with a typed error", async () => {
    await expect(listTags(`${registry.host}/${unique("none")}`, ctx)).rejects.toThrow(/NAME_UNKNOWN|repository name not known/);
  });

  test("listRepositories() follows the registry's catalog Link pages", async () => {
    await using proxy = await startFaultProxy({ target: registry.url });
    const repos = [unique("cat"), unique("cat"), unique("cat")];
    const img = makeFixtureImage({ layers: 1 });
    for (const r of repos) await rawPushImage(registry.url, r, "v1", img);
    const all = await listRepositories(proxy.host, ctx, { pageSize: 2 });
    for (const r of repos) expect(all).toContain(r);
    expect(new Set(all).size).toBe(all.length);
    const pages = proxy.requests.filter((r) => r.path.startsWith("/v2/_catalog"));
    expect(pages.length).toBeGreaterThanOrEqual(Math.ceil(all.length / 2));
    expect(pages[1]!.path).toContain("last=");
  });

  test("deleteImage() removes the manifest by digest, and with it every tag naming it", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("delete");
    await rawPushImage(registry.url, repo, "a", img);
    await rawPushImage(registry.url, repo, "b", img);
    const other = makeFixtureImage({ layers: 1 });
    await rawPushImage(registry.url, repo, "keep", other);
    await dockerTransport.parseReference(`//${registry.host}/${repo}:a`).deleteImage(ctx);
    await expect(dockerTransport.parseReference(`//${registry.host}/${repo}:b`).newImageSource(ctx)).rejects.toBeInstanceOf(ManifestUnknownError);
    await expect(dockerTransport.parseReference(`//${registry.host}/${repo}@${img.digest}`).newImageSource(ctx)).rejects.toBeInstanceOf(ManifestUnknownError);
    expect(await listTags(`${registry.host}/${repo}`, ctx)).toEqual(["keep"]);
    // By digest as well.
    await dockerTransport.parseReference(`//${registry.host}/${repo}@${other.digest}`).deleteImage(ctx);
    await expect(dockerTransport.parseReference(`//${registry.host}/${repo}:keep`).newImageSource(ctx)).rejects.toBeInstanceOf(ManifestUnknownError);
  });

  test("getManifestDigest() returns the digest of the manifest a tag names", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("digest");
    await rawPushImage(registry.url, repo, "v1", img);
    expect(await getManifestDigest(dockerTransport.parseReference(`//${registry.host}/${repo}:v1`), ctx)).toBe(img.digest);
    expect(await getManifestDigest(dockerTransport.parseReference(`//${registry.host}/${repo}@${img.digest}`), ctx)).toBe(img.digest);
  });
});

describe("manifests", () => {
  test("putManifest() refuses bytes that do not match the instance digest or the reference's digest", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("mdigest");
    const dest = await dockerTransport.parseReference(`//${registry.host}/${repo}:x`).newImageDestination(ctx);
    await expect(dest.putManifest(img.manifest, sha256("other"))).rejects.toBeInstanceOf(DigestMismatchError);
    const byDigest = await dockerTransport.parseReference(`//${registry.host}/${repo}@${sha256("other")}`).newImageDestination(ctx);
    await expect(byDigest.putManifest(img.manifest)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  test("putManifest() of a schema 1 manifest the registry does not take fails with ManifestTypeRejectedError", async () => {
    const layer = gzipSync(Buffer.from("x"));
    const repo = unique("schema1");
    const dest = await dockerTransport.parseReference(`//${registry.host}/${repo}:v1`).newImageDestination(ctx);
    await dest.putBlob(chunks(new Uint8Array(layer)), { digest: sha256(layer), size: layer.length }, { cache: createMemoryCache() });
    const schema1 = utf8(
      JSON.stringify({
        schemaVersion: 1,
        name: repo,
        tag: "v1",
        architecture: "amd64",
        fsLayers: [{ blobSum: sha256(layer) }],
        history: [{ v1Compatibility: JSON.stringify({ id: "a".repeat(64), created: "2024-01-01T00:00:00Z" }) }],
      }),
    );
    const err = await dest.putManifest(schema1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ManifestTypeRejectedError);
    expect((err as Error).message).toContain("application/vnd.docker.distribution.manifest.v1+json");
  });

  test("an image pushed but not committed is not visible by tag; commit() makes it so", async () => {
    const img = makeFixtureImage({ layers: 1 });
    const repo = unique("commit");
    const dest = await dockerTransport.parseReference(`//${registry.host}/${repo}:v1`).newImageDestination(ctx);
    for (const [d, b] of img.blobs) await dest.putBlob(chunks(b), { digest: d, size: b.length }, { cache: createMemoryCache() });
    await dest.putManifest(img.manifest);
    expect((await fetch(`${registry.url}/v2/${repo}/manifests/v1`, { method: "HEAD" })).status).toBe(404);
    await dest.commit();
    const head = await fetch(`${registry.url}/v2/${repo}/manifests/v1`, { method: "HEAD", headers: { accept: img.mimeType } });
    expect(head.headers.get("docker-content-digest")).toBe(img.digest);
  });

  test("capabilities offer schema 1 unless dockerDisableDestSchema1MIMETypes, support signatures, and refuse signatures before putManifest()", async () => {
    const ref = dockerTransport.parseReference(`//${registry.host}/caps/x:1`);
    const d1 = await ref.newImageDestination(ctx);
    expect(d1.capabilities.supportedManifestMIMETypes).toEqual([
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "application/vnd.docker.distribution.manifest.v1+json",
    ]);
    expect(d1.capabilities).toMatchObject({ desiredLayerCompression: "compress", acceptsForeignLayerURLs: true, threadSafePutBlob: true, supportsSignatures: true });
    expect(d1.capabilities.signaturesUnsupportedReason).toBeUndefined();
    await d1.putSignatures([]);
    await expect(
      d1.putSignatures([{ format: "simple-signing", untrustedSignature: new Uint8Array([1]) }]),
    ).rejects.toBeInstanceOf(ManifestUnknownError);
    const d2 = await ref.newImageDestination({ ...ctx, dockerDisableDestSchema1MIMETypes: true });
    expect(d2.capabilities.supportedManifestMIMETypes).toHaveLength(4);
  });
});

describe("blob reuse", () => {
  test("tryReusingBlob() mounts a blob from another repository the cache knows, and says so", async () => {
    await using proxy = await startFaultProxy({ target: registry.url });
    const img = makeFixtureImage({ layers: 1 });
    const from = unique("mount-from");
    const to = unique("mount-to");
    const cache = createMemoryCache();
    await pushImage(dockerTransport, `//${proxy.host}/${from}:v1`, ctx, img, cache);
    const dest = await dockerTransport.parseReference(`//${proxy.host}/${to}:v1`).newImageDestination(ctx);
    const l = img.layers[0]!;
    proxy.clearRequests();
    const r = await dest.tryReusingBlob({ digest: l.digest, size: l.size }, { cache, canSubstitute: false });
    expect(r).toMatchObject({ digest: l.digest, size: l.size, reason: "mounted" });
    const mount = proxy.requests.find((q) => q.method === "POST" && q.path.includes("mount="));
    expect(mount?.path).toContain(`from=${encodeURIComponent(from)}`);
    expect((await fetch(`${registry.url}/v2/${to}/blobs/${l.digest}`, { method: "HEAD" })).status).toBe(200);
    // Without a cache entry, another repository is not found.
    const elsewhere = await dockerTransport.parseReference(`//${proxy.host}/${unique("mount-none")}:v1`).newImageDestination(ctx);
    expect(await elsewhere.tryReusingBlob({ digest: l.digest, size: l.size }, { cache: createMemoryCache(), canSubstitute: false })).toBeUndefined();
  });

  test("tryReusingBlob() with canSubstitute uses a known gzip twin of an uncompressed layer", async () => {
    const tar = new Uint8Array(randomBytes(3000));
    const gz = new Uint8Array(gzipSync(tar));
    const from = unique("twin-from");
    const cache = createMemoryCache();
    const d1 = await dockerTransport.parseReference(`//${registry.host}/${from}:v1`).newImageDestination(ctx);
    await d1.putBlob(chunks(gz), { digest: sha256(gz), size: gz.length }, { cache });
    cache.recordDigestUncompressedPair(sha256(gz), sha256(tar));
    cache.recordDigestCompressorName(sha256(gz), "gzip");
    cache.recordDigestCompressorName(sha256(tar), "uncompressed");
    const d2 = await dockerTransport.parseReference(`//${registry.host}/${unique("twin-to")}:v1`).newImageDestination(ctx);
    expect(await d2.tryReusingBlob({ digest: sha256(tar), size: tar.length }, { cache, canSubstitute: false })).toBeUndefined();
    const r = await d2.tryReusingBlob({ digest: sha256(tar), size: tar.length }, { cache, canSubstitute: true });
    expect(r).toMatchObject({ digest: sha256(gz), size: gz.length, compressionOperation: "compress", compressionAlgorithm: "gzip" });
  });
});

describe("HTTP layer", () => {
  test("importing the package does not load undici; the first request does", async () => {
    const script = `
      import { registerHooks } from "node:module";
      const seen = [];
      registerHooks({ resolve(spec, context, next) { seen.push(spec); return next(spec, context); } });
      const m = await import("@stevedore/transport-docker");
      const isUndici = (s) => s === "undici" || s.startsWith("undici/");
      const before = seen.some(isUndici);
      await m.listTags(process.argv[1], { dockerInsecureSkipTLSVerify: true }).catch(() => {});
      console.log(JSON.stringify({ before, after: seen.some(isUndici) }));
    `;
    const { execFileSync } = await import("node:child_process");
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script, `${registry.host}/lazy/x`], { cwd: new URL("..", import.meta.url), encoding: "utf8" });
    expect(JSON.parse(out)).toEqual({ before: false, after: true });
  });

  test("sequential requests of two sources and a destination reuse pooled keep-alive connections", async () => {
    await using proxy = await startFaultProxy({ target: registry.url });
    const img = makeFixtureImage({ layers: 2 });
    const repo = unique("keepalive");
    await rawPushImage(registry.url, repo, "v1", img);
    const cache = createMemoryCache();
    for (let i = 0; i < 2; i++) {
      const src = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
      for (const l of img.layers) await readBlob(src, l.digest, l.size, cache);
      await src.close();
    }
    const dest = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v2`).newImageDestination(ctx);
    expect(await dest.tryReusingBlob({ digest: img.layers[0]!.digest, size: img.layers[0]!.size }, { cache, canSubstitute: false })).toBeDefined();
    expect(proxy.requests.length).toBeGreaterThanOrEqual(9);
    // undici may open a second connection while the first finishes a response; never one per request.
    expect(new Set(proxy.requests.map((r) => r.connection)).size).toBeLessThanOrEqual(2);
  });

  test("the read path works over a WHATWG fetch given in ctx.fetch", async () => {
    const img = makeFixtureImage({ layers: 2 });
    const repo = unique("fetch");
    await rawPushImage(registry.url, repo, "v1", img);
    const seen: string[] = [];
    const fetchCtx: SystemContext = {
      ...ctx,
      fetch: (input, init) => {
        seen.push(`${init?.method ?? "GET"} ${new URL(String(input instanceof Request ? input.url : input)).pathname}`);
        expect(init?.redirect).toBe("manual");
        return globalThis.fetch(input, init);
      },
    };
    const ref = dockerTransport.parseReference(`//${registry.host}/${repo}:v1`);
    const src = await ref.newImageSource(fetchCtx);
    expect((await src.getManifest()).bytes).toEqual(img.manifest);
    const cache = createMemoryCache();
    const bytes = await Promise.all(img.layers.map((l) => readBlob(src, l.digest, l.size, cache)));
    expect(bytes).toEqual(img.layers.map((l) => l.bytes));
    expect(await listTags(ref, fetchCtx)).toEqual(["v1"]);
    expect(await getManifestDigest(ref, fetchCtx)).toBe(img.digest);
    expect(seen).toContain("GET /v2/");
    expect(seen).toContain(`GET /v2/${repo}/manifests/v1`);
    expect(seen).toContain(`GET /v2/${repo}/blobs/${img.layers[0]!.digest}`);
    expect(seen).toContain(`HEAD /v2/${repo}/manifests/v1`);
  });

  test("a plain-HTTP registry is refused unless TLS verification is off or registries.conf marks it insecure", async () => {
    const { ctx: strict, dir: d2, cleanup: c2 } = await isolatedContext();
    try {
      const img = makeFixtureImage({ layers: 1 });
      const repo = unique("insecure");
      await rawPushImage(registry.url, repo, "v1", img);
      const ref = dockerTransport.parseReference(`//${registry.host}/${repo}:v1`);
      const err = await ref.newImageSource(strict).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as Error).message).toMatch(/insecure|tls-verify/);
      const conf = `${d2}/insecure.conf`;
      await writeFile(conf, `[[registry]]\nlocation = "${registry.host}"\ninsecure = true\n`);
      const src = await ref.newImageSource({ ...strict, systemRegistriesConfPath: conf });
      expect((await src.getManifest()).bytes).toEqual(img.manifest);
    } finally {
      await c2();
    }
  });

  test("a registries.conf that blocks the registry refuses pulls and pushes with PolicyRejectedError", async () => {
    const conf = `${dir}/blocked.conf`;
    await writeFile(conf, `[[registry]]\nlocation = "${registry.host}/blocked"\nblocked = true\n`);
    const blockedCtx = { ...ctx, systemRegistriesConfPath: conf };
    const ref = dockerTransport.parseReference(`//${registry.host}/blocked/app:v1`);
    await expect(ref.newImageSource(blockedCtx)).rejects.toBeInstanceOf(PolicyRejectedError);
    await expect(ref.newImageDestination(blockedCtx)).rejects.toBeInstanceOf(PolicyRejectedError);
  });

  test("an aborted signal stops getManifest() and a blob read with AbortError", async () => {
    const img = makeFixtureImage({ layers: 1, layerSize: 300_000 });
    const repo = unique("abort");
    await rawPushImage(registry.url, repo, "v1", img);
    const src = await dockerTransport.parseReference(`//${registry.host}/${repo}:v1`).newImageSource(ctx);
    const ac = new AbortController();
    const l = img.layers[0]!;
    const { stream } = await src.getBlob({ digest: l.digest, size: l.size }, createMemoryCache(), { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    ac.abort();
    await expect(readAll({ [Symbol.asyncIterator]: () => it })).rejects.toMatchObject({ name: "AbortError" });
    await expect(src.getManifest(img.digest, { signal: ac.signal })).rejects.toMatchObject({ name: "AbortError" });
  });
});
