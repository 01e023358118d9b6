// Faults injected by the proxy in front of the real registry.
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { createTestCertificates, makeFixtureImage, startFaultProxy, startRegistry, writeCertsDir, type FaultProxy, type RegistryHandle } from "@stevedore/testing";
import { createDockerTransport, dockerTransport, getManifestDigest } from "@stevedore/transport-docker";
import {
  DigestMismatchError,
  NetworkError,
  ProtocolError,
  readAll,
  SizeLimitExceededError,
  UnauthorizedError,
  type SystemContext,
} from "@stevedore/types";
import { chunks, isolatedContext, rawPushImage, readBlob, registrySnapshot, sha256 } from "./helpers.js";

let registry: RegistryHandle;
let proxy: FaultProxy;
let ctx: SystemContext;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.url });
  // Short reconnection and retry delays keep the tests quick; nothing asserts timing.
  ({ ctx, dir, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true, retryDelayMs: 10 }));
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  await cleanup?.();
});

const unique = (prefix: string) => `${prefix}/r${randomBytes(4).toString("hex")}`;

async function image(layerSize = 300_000): Promise<{ repo: string; img: ReturnType<typeof makeFixtureImage> }> {
  const repo = unique("faults");
  const img = makeFixtureImage({ layers: 1, layerSize, gzip: false });
  await rawPushImage(registry.url, repo, "v1", img);
  return { repo, img };
}

function blobPath(repo: string, digest: string): RegExp {
  return new RegExp(`^/v2/${repo}/blobs/${digest}$`);
}

describe("blob downloads", () => {
  test("a connection cut mid-blob is resumed with Range and the bytes are identical", async () => {
    const { repo, img } = await image();
    const l = img.layers[0]!;
    proxy.inject({ method: "GET", path: blobPath(repo, l.digest), fault: { kind: "cut", afterBytes: 100_000 } });
    proxy.clearRequests();
    const src = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
    expect(await readBlob(src, l.digest, l.size, createMemoryCache())).toEqual(l.bytes);
    const gets = proxy.requests.filter((r) => r.path.includes(`/blobs/${l.digest}`));
    expect(gets.map((r) => [r.fault, r.headers.range])).toEqual([
      ["cut", undefined],
      [undefined, "bytes=100000-"],
    ]);
  });

  test("a registry that ignores Range makes a broken download fail cleanly, without splicing", async () => {
    const { repo, img } = await image();
    const l = img.layers[0]!;
    proxy.inject({ method: "GET", path: blobPath(repo, l.digest), fault: { kind: "cut", afterBytes: 50_000 } });
    proxy.inject({ method: "GET", path: blobPath(repo, l.digest), hasRange: true, fault: { kind: "ignore-range" } });
    const src = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
    const { stream } = await src.getBlob({ digest: l.digest, size: l.size }, createMemoryCache());
    const err = await readAll(stream).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toContain("server did not process a Range: header");
  });

  test("a stall in the middle of a blob hits the idle timeout and the download resumes", async () => {
    const { repo, img } = await image();
    const l = img.layers[0]!;
    const quick = createDockerTransport({ idleTimeoutMs: 300 });
    proxy.inject({ method: "GET", path: blobPath(repo, l.digest), fault: { kind: "stall", ms: 10_000, afterBytes: 70_000 } });
    proxy.clearRequests();
    const src = await quick.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
    expect(await readBlob(src, l.digest, l.size, createMemoryCache())).toEqual(l.bytes);
    const ranges = proxy.requests.filter((r) => r.path.includes(`/blobs/${l.digest}`)).map((r) => r.headers.range);
    expect(ranges).toEqual([undefined, "bytes=70000-"]);
  });

  test("a server that stalls before answering fails with a NetworkError after the idle timeout instead of hanging", async () => {
    const { repo } = await image(1000);
    const quick = createDockerTransport({ idleTimeoutMs: 300 });
    const rule = proxy.inject({ method: "GET", path: new RegExp(`^/v2/${repo}/manifests/`), times: Infinity, fault: { kind: "stall", ms: 10_000 } });
    try {
      const err = await quick
        .parseReference(`//${proxy.host}/${repo}:v1`)
        .newImageSource({ ...ctx, retryTimes: 1 })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NetworkError);
      expect((err as Error).message).toContain("no response within 300 ms");
      expect(rule.hits).toBe(2);
    } finally {
      rule.remove();
    }
  });

  test("a flipped byte in a blob fails with DigestMismatchError, and a destination fed from it keeps nothing", async () => {
    const { repo, img } = await image();
    const l = img.layers[0]!;
    proxy.inject({ method: "GET", path: blobPath(repo, l.digest), times: 2, fault: { kind: "flip-byte", offset: 12_345 } });
    const src = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
    const cache = createMemoryCache();
    await expect(readBlob(src, l.digest, l.size, cache)).rejects.toBeInstanceOf(DigestMismatchError);

    const target = unique("faults-dest");
    const before = await registrySnapshot(registry.url, target);
    const dest = await dockerTransport.parseReference(`//${registry.host}/${target}:v1`).newImageDestination(ctx);
    const { stream } = await src.getBlob({ digest: l.digest, size: l.size }, cache);
    await expect(dest.putBlob(stream, { digest: l.digest, size: l.size }, { cache })).rejects.toBeInstanceOf(DigestMismatchError);
    expect((await fetch(`${registry.url}/v2/${target}/blobs/${l.digest}`, { method: "HEAD" })).status).toBe(404);
    expect(await registrySnapshot(registry.url, target)).toBe(before);
  });
});

describe("retries", () => {
  test("429 with Retry-After is retried and the request then succeeds", async () => {
    const { repo, img } = await image(1000);
    const rule = proxy.inject({
      method: "GET",
      path: new RegExp(`^/v2/${repo}/manifests/v1$`),
      fault: { kind: "respond", status: 429, headers: { "retry-after": "1", "content-type": "application/json" }, body: '{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}' },
    });
    proxy.clearRequests();
    const src = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
    expect(rule.hits).toBe(1);
    expect((await src.getManifest()).bytes).toEqual(img.manifest);
    expect(proxy.requests.filter((r) => r.path === `/v2/${repo}/manifests/v1`).map((r) => r.fault ?? "ok")).toEqual(["respond", "ok"]);
  });

  test("503 once is retried", async () => {
    const { repo, img } = await image(1000);
    const l = img.layers[0]!;
    const rule = proxy.inject({ method: "GET", path: blobPath(repo, l.digest), fault: { kind: "respond", status: 503, body: "unavailable" } });
    const src = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageSource(ctx);
    expect(await readBlob(src, l.digest, l.size, createMemoryCache())).toEqual(l.bytes);
    expect(rule.hits).toBe(1);
  });

  test("a failed streamed upload is not retried, and its upload session is deleted", async () => {
    const repo = unique("faults-upload");
    const bytes = new Uint8Array(randomBytes(20_000));
    const rule = proxy.inject({ method: "PUT", path: new RegExp(`^/v2/${repo}/blobs/uploads/`), fault: { kind: "respond", status: 502, body: "bad gateway" } });
    proxy.clearRequests();
    const dest = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageDestination(ctx);
    await expect(dest.putBlob(chunks(bytes), { digest: sha256(bytes), size: bytes.length }, { cache: createMemoryCache() })).rejects.toBeInstanceOf(ProtocolError);
    expect(rule.hits).toBe(1);
    const methods = proxy.requests.filter((r) => r.path.includes("/blobs/uploads/")).map((r) => r.method);
    expect(methods).toEqual(["POST", "PUT", "DELETE"]);
  });
});

describe("manifests", () => {
  test("a manifest whose bytes do not match the digest asked for fails with DigestMismatchError", async () => {
    const { repo, img } = await image(1000);
    proxy.inject({ method: "GET", path: new RegExp(`^/v2/${repo}/manifests/${img.digest}$`), fault: { kind: "flip-byte", offset: 40 } });
    await expect(dockerTransport.parseReference(`//${proxy.host}/${repo}@${img.digest}`).newImageSource(ctx)).rejects.toBeInstanceOf(DigestMismatchError);
  });

  test("getManifestDigest() hashes the manifest and ignores a lying Docker-Content-Digest", async () => {
    const { repo, img } = await image(1000);
    const other = makeFixtureImage({ layers: 1 });
    await rawPushImage(registry.url, repo, "other", other);
    // The lie names a manifest that exists, so fetching "by the header's digest" would even verify.
    proxy.inject({
      method: "HEAD",
      path: new RegExp(`^/v2/${repo}/manifests/v1$`),
      fault: { kind: "respond", status: 200, headers: { "docker-content-digest": other.digest, "content-type": img.mimeType } },
    });
    expect(await getManifestDigest(dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`), ctx)).toBe(img.digest);
  });

  test("an oversized manifest fails with SizeLimitExceededError", async () => {
    const { repo } = await image(1000);
    proxy.inject({ method: "GET", path: new RegExp(`^/v2/${repo}/manifests/v1$`), fault: { kind: "oversize", bytes: 5 * 1024 * 1024 } });
    const err = await dockerTransport
      .parseReference(`//${proxy.host}/${repo}:v1`)
      .newImageSource(ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitExceededError);
    expect((err as Error).message).toContain("4194304");
  });

  test("an oversized error body fails with SizeLimitExceededError", async () => {
    const { repo } = await image(1000);
    proxy.inject({ method: "GET", path: new RegExp(`^/v2/${repo}/manifests/v1$`), fault: { kind: "oversize", status: 404, bytes: 2 * 1024 * 1024 } });
    const err = await dockerTransport
      .parseReference(`//${proxy.host}/${repo}:v1`)
      .newImageSource(ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SizeLimitExceededError);
    expect((err as Error).message).toContain("error response");
  });
});

describe("credentials and other origins", () => {
  let guarded: RegistryHandle;
  let guardedProxy: FaultProxy;
  let creds: SystemContext;
  beforeAll(async () => {
    guarded = await startRegistry({ auth: "htpasswd" });
    guardedProxy = await startFaultProxy({ target: guarded.url });
    creds = { ...ctx, dockerAuthConfig: { username: guarded.username!, password: guarded.password! } };
  });
  afterAll(async () => {
    await guardedProxy?.stop();
    await guarded?.stop();
  });

  test("a blob redirected to another origin is fetched there without the registry's Authorization", async () => {
    const repo = unique("redirect");
    const img = makeFixtureImage({ layers: 1 });
    const basic = `Basic ${Buffer.from(`${guarded.username}:${guarded.password}`).toString("base64")}`;
    const { rawPushBlob, rawPushManifest } = await import("./helpers.js");
    for (const [, b] of img.blobs) await rawPushBlob(guarded.url, repo, b, { authorization: basic });
    await rawPushManifest(guarded.url, repo, "v1", img.manifest, img.mimeType, { authorization: basic });
    const l = img.layers[0]!;
    guardedProxy.inject({ method: "GET", path: blobPath(repo, l.digest), fault: { kind: "redirect" } });
    const src = await dockerTransport.parseReference(`//${guardedProxy.host}/${repo}:v1`).newImageSource(creds);
    expect(await readBlob(src, l.digest, l.size, createMemoryCache())).toEqual(l.bytes);
    const atRegistry = guardedProxy.requests.find((r) => r.path.includes(`/blobs/${l.digest}`));
    expect(atRegistry?.authorization).toBe(true);
    const atSide = guardedProxy.side.requests.filter((r) => r.path.startsWith("/r/"));
    expect(atSide).toHaveLength(1);
    expect(atSide[0]!.authorization).toBe(false);
  });

  test("an upload Location on another origin gets no credentials", async () => {
    const repo = unique("foreign-upload");
    const bytes = new Uint8Array(randomBytes(10_000));
    guardedProxy.inject({ method: "POST", path: new RegExp(`^/v2/${repo}/blobs/uploads/$`), fault: { kind: "foreign-location" } });
    const dest = await dockerTransport.parseReference(`//${guardedProxy.host}/${repo}:v1`).newImageDestination(creds);
    const r = await dest.putBlob(chunks(bytes), { digest: sha256(bytes), size: bytes.length }, { cache: createMemoryCache() });
    expect(r.digest).toBe(sha256(bytes));
    const atSide = guardedProxy.side.requests.filter((q) => q.path.startsWith("/l/"));
    expect(atSide.map((q) => [q.method, q.authorization])).toEqual([["PUT", false]]);
  });

  test("foreign layer URLs are fetched without credentials, then the registry serves the blob", async () => {
    const repo = unique("foreign-urls");
    const img = makeFixtureImage({ layers: 1 });
    const basic = `Basic ${Buffer.from(`${guarded.username}:${guarded.password}`).toString("base64")}`;
    const { rawPushBlob, rawPushManifest } = await import("./helpers.js");
    for (const [, b] of img.blobs) await rawPushBlob(guarded.url, repo, b, { authorization: basic });
    await rawPushManifest(guarded.url, repo, "v1", img.manifest, img.mimeType, { authorization: basic });
    const l = img.layers[0]!;
    const src = await dockerTransport.parseReference(`//${guardedProxy.host}/${repo}:v1`).newImageSource(creds);
    const foreign = `${guardedProxy.side.url}/foreign/${l.digest}`;
    const { stream } = await src.getBlob({ digest: l.digest, size: l.size, urls: [foreign, "ftp://example.invalid/x"] }, createMemoryCache());
    expect(await readAll(stream)).toEqual(l.bytes);
    const atSide = guardedProxy.side.requests.filter((r) => r.path.startsWith("/foreign/"));
    expect(atSide.map((r) => r.authorization)).toEqual([false]);
  });

  test("a cross-repository mount answered 202 is cancelled and the blob is not reused", async () => {
    const repo = unique("mount202");
    const bytes = new Uint8Array(randomBytes(3000));
    const d = sha256(bytes);
    const cache = createMemoryCache();
    cache.recordKnownLocation("docker", proxy.host, d, `${proxy.host}/mount202/elsewhere`);
    // The candidate repository claims to have the blob, but does not: the registry starts an upload instead.
    proxy.inject({ method: "HEAD", path: new RegExp(`^/v2/mount202/elsewhere/blobs/${d}$`), fault: { kind: "respond", status: 200, headers: { "content-length": "3000" } } });
    proxy.clearRequests();
    const dest = await dockerTransport.parseReference(`//${proxy.host}/${repo}:v1`).newImageDestination(ctx);
    expect(await dest.tryReusingBlob({ digest: d, size: bytes.length }, { cache, canSubstitute: false })).toBeUndefined();
    const calls = proxy.requests.filter((r) => r.path.startsWith(`/v2/${repo}/blobs/`)).map((r) => `${r.method} ${r.path.includes("mount=") ? "mount" : r.path.includes("/uploads/") ? "session" : "blob"}`);
    expect(calls).toEqual(["HEAD blob", "POST mount", "DELETE session"]);
  });

  test("a redirect from https to plain http is refused", async () => {
    const certs = await createTestCertificates(join(dir, "https-proxy"));
    await using tlsProxy = await startFaultProxy({ target: registry.url, tls: { cert: certs.certPem, key: certs.keyPem } });
    const certsDir = join(dir, "https-proxy-certs");
    await writeCertsDir(certsDir, tlsProxy.host, certs.caPem);
    const { repo, img } = await image(1000);
    const l = img.layers[0]!;
    tlsProxy.inject({ method: "GET", path: blobPath(repo, l.digest), fault: { kind: "redirect" } });
    const strict: SystemContext = { ...ctx, dockerInsecureSkipTLSVerify: false, dockerPerHostCertDirPath: certsDir };
    const src = await dockerTransport.parseReference(`//${tlsProxy.host}/${repo}:v1`).newImageSource(strict);
    const err = await readBlob(src, l.digest, l.size, createMemoryCache()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toContain("downgrades https to plain http");
    expect(tlsProxy.side.requests).toHaveLength(0);
  });
});

describe("token realm on another origin", () => {
  test("credentials are withheld from a token realm on another origin, and the error says why", async () => {
    await using tokenRegistry = await startRegistry({ auth: "token" });
    await using tokenProxy = await startFaultProxy({ target: tokenRegistry.url });
    tokenProxy.inject({ path: /^\/v2\//, times: Infinity, fault: { kind: "rewrite-realm" } });
    const creds = { ...ctx, dockerAuthConfig: { username: tokenRegistry.username!, password: tokenRegistry.password! } };
    const repo = unique("realm");
    const err = await dockerTransport
      .parseReference(`//${tokenProxy.host}/${repo}:v1`)
      .newImageSource(creds)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect((err as Error).message).toContain(`were not sent to the token server ${tokenProxy.side.url}`);
    expect((err as Error).message).toContain(`--trusted-token-realm ${tokenProxy.side.url}`);
    const tokenRequests = tokenProxy.side.requests.filter((r) => r.path.startsWith("/realm/"));
    expect(tokenRequests.length).toBeGreaterThan(0);
    expect(tokenRequests.some((r) => r.authorization)).toBe(false);
    expect(tokenRequests.some((r) => r.path.includes("account="))).toBe(false);

    // Trusting that origin explicitly sends the credentials, and the image is found.
    const img = makeFixtureImage({ layers: 1 });
    const trusting = createDockerTransport({ trustedTokenRealms: [tokenProxy.side.url] });
    const dest = await trusting.parseReference(`//${tokenProxy.host}/${repo}:v1`).newImageDestination(creds);
    for (const [d, b] of img.blobs) await dest.putBlob(chunks(b), { digest: d, size: b.length }, { cache: createMemoryCache() });
    await dest.putManifest(img.manifest);
    await dest.commit();
    const src = await trusting.parseReference(`//${tokenProxy.host}/${repo}:v1`).newImageSource(creds);
    expect((await src.getManifest()).bytes).toEqual(img.manifest);
    expect(tokenProxy.side.requests.some((r) => r.authorization)).toBe(true);

    // The same trust given through the SystemContext (the CLI's --trusted-token-realm).
    tokenProxy.clearRequests();
    const viaCtx = await dockerTransport
      .parseReference(`//${tokenProxy.host}/${repo}:v1`)
      .newImageSource({ ...creds, dockerTrustedTokenRealms: [tokenProxy.side.url] });
    expect((await viaCtx.getManifest()).bytes).toEqual(img.manifest);
    await viaCtx.close();
    expect(tokenProxy.side.requests.some((r) => r.authorization)).toBe(true);
  });
});
