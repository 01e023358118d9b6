import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { createTestCertificates, makeFixtureImage, startFaultProxy, startRegistry, writeCertsDir, type RegistryHandle } from "@stevedore/testing";
import { createDockerTransport, dockerTransport, listRepositories } from "@stevedore/transport-docker";
import { DeniedError, NetworkError, UnauthorizedError, type SystemContext } from "@stevedore/types";
import { isolatedContext, pushImage, readBlob } from "./helpers.js";

let dir: string;
let base: SystemContext;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  ({ ctx: base, dir, cleanup } = await isolatedContext());
});
afterAll(async () => {
  await cleanup?.();
});

const unique = (prefix: string) => `${prefix}/r${randomBytes(4).toString("hex")}`;

async function pullAll(transport: typeof dockerTransport, text: string, ctx: SystemContext, img: ReturnType<typeof makeFixtureImage>): Promise<void> {
  const src = await transport.parseReference(text).newImageSource(ctx);
  try {
    expect((await src.getManifest()).bytes).toEqual(img.manifest);
    for (const l of img.layers) expect(await readBlob(src, l.digest, l.size, createMemoryCache())).toEqual(l.bytes);
  } finally {
    await src.close();
  }
}

describe("htpasswd and TLS", () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd", tls: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("push and pull over TLS trusted through certs.d, with credentials from dockerAuthConfig", async () => {
    const ctx = { ...base, dockerPerHostCertDirPath: registry.certsDir!, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const img = makeFixtureImage();
    const text = `//${registry.host}/${unique("tls")}:v1`;
    await pushImage(dockerTransport, text, ctx, img, createMemoryCache());
    await pullAll(dockerTransport, text, ctx, img);
  });

  test("credentials come from the auth file, and dockerCertPath (--cert-dir) trusts the CA", async () => {
    const authFile = join(dir, "auth-htpasswd.json");
    const auth = Buffer.from(`${registry.username}:${registry.password}`).toString("base64");
    await writeFile(authFile, JSON.stringify({ auths: { [registry.host]: { auth } } }));
    const certDir = join(dir, "cert-dir");
    await mkdir(certDir, { recursive: true });
    await writeFile(join(certDir, "ca.crt"), registry.caPem!);
    const ctx = { ...base, authFilePath: authFile, dockerCertPath: certDir };
    const img = makeFixtureImage({ layers: 1 });
    const text = `//${registry.host}/${unique("authfile")}:v1`;
    await pushImage(dockerTransport, text, ctx, img, createMemoryCache());
    await pullAll(dockerTransport, text, ctx, img);
  });

  test("without the CA the TLS failure is a NetworkError that points at certs.d", async () => {
    const ctx = { ...base, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const err = await dockerTransport
      .parseReference(`//${registry.host}/x/y:v1`)
      .newImageSource(ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetworkError);
    expect((err as Error).message).toMatch(/TLS/);
    expect((err as Error).message).toMatch(/certs\.d/);
  });

  test("dockerInsecureSkipTLSVerify reaches a TLS registry without its CA", async () => {
    const ctx = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const img = makeFixtureImage({ layers: 1 });
    const text = `//${registry.host}/${unique("skipverify")}:v1`;
    await pushImage(dockerTransport, text, ctx, img, createMemoryCache());
    await pullAll(dockerTransport, text, ctx, img);
  });

  test("a wrong password or no credentials fail with UnauthorizedError", async () => {
    const ref = dockerTransport.parseReference(`//${registry.host}/x/y:v1`);
    const wrong = { ...base, dockerPerHostCertDirPath: registry.certsDir!, dockerAuthConfig: { username: registry.username!, password: "wrong" } };
    const e1 = await ref.newImageSource(wrong).catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(UnauthorizedError);
    expect((e1 as Error).message).toContain(registry.host);
    expect((e1 as Error).message).not.toContain("wrong");
    await expect(ref.newImageSource({ ...base, dockerPerHostCertDirPath: registry.certsDir! })).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe("TLS client certificates", () => {
  // The registry cannot require client certificates and still be probed by
  // the harness, so mutual TLS is terminated by the proxy in front of it.
  test("a *.cert/*.key pair in certs.d is presented to a server that requires one", async () => {
    const serverTls = await createTestCertificates(join(dir, "mtls-server"));
    const clientTls = await createTestCertificates(join(dir, "mtls-client"));
    await using registry = await startRegistry();
    await using proxy = await startFaultProxy({ target: registry.url, tls: { cert: serverTls.certPem, key: serverTls.keyPem, clientCa: clientTls.caPem } });
    const withClient = join(dir, "certs-client");
    await writeCertsDir(withClient, proxy.host, serverTls.caPem);
    await writeFile(join(withClient, proxy.host, "client.cert"), clientTls.certPem);
    await writeFile(join(withClient, proxy.host, "client.key"), clientTls.keyPem);
    const withoutClient = join(dir, "certs-noclient");
    await writeCertsDir(withoutClient, proxy.host, serverTls.caPem);
    const img = makeFixtureImage({ layers: 1 });
    const text = `//${proxy.host}/${unique("mtls")}:v1`;
    await pushImage(dockerTransport, text, { ...base, dockerPerHostCertDirPath: withClient }, img, createMemoryCache());
    await pullAll(dockerTransport, text, { ...base, dockerPerHostCertDirPath: withClient }, img);
    await expect(dockerTransport.parseReference(text).newImageSource({ ...base, dockerPerHostCertDirPath: withoutClient })).rejects.toBeInstanceOf(NetworkError);
  });

  test("a client certificate without its key is an InvalidConfigurationError", async () => {
    const lonely = join(dir, "certs-lonely");
    await mkdir(join(lonely, "127.0.0.1:9"), { recursive: true });
    await writeFile(join(lonely, "127.0.0.1:9", "client.cert"), "x");
    await expect(
      dockerTransport.parseReference("//127.0.0.1:9/a/b:c").newImageSource({ ...base, dockerPerHostCertDirPath: lonely }),
    ).rejects.toMatchObject({ name: "InvalidConfigurationError" });
  });
});

describe("token authentication", () => {
  let registry: RegistryHandle;
  let trusted: ReturnType<typeof createDockerTransport>;
  beforeAll(async () => {
    registry = await startRegistry({ auth: "token" });
    trusted = createDockerTransport({ trustedTokenRealms: [registry.tokenServer!.url] });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("push asks for pull,push and pull for pull; one token per scope serves every request", async () => {
    const ctx = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const repo = unique("token");
    const img = makeFixtureImage({ layers: 3 });
    registry.tokenServer!.clearRequests();
    await pushImage(trusted, `//${registry.host}/${repo}:v1`, ctx, img, createMemoryCache());
    const pushes = registry.tokenServer!.requests;
    expect(pushes.length).toBe(1);
    expect(pushes[0]).toMatchObject({ method: "GET", grant: "basic", username: registry.username, service: "stevedore-test-registry" });
    expect(pushes[0]!.scopes).toEqual([{ type: "repository", name: repo, actions: ["pull", "push"] }]);
    registry.tokenServer!.clearRequests();
    await pullAll(trusted, `//${registry.host}/${repo}:v1`, ctx, img);
    expect(registry.tokenServer!.requests.map((r) => r.scopes)).toEqual([[{ type: "repository", name: repo, actions: ["pull"] }]]);
  });

  test("a read-only user pulls but is refused a push with UnauthorizedError or DeniedError", async () => {
    const full = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const reader = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { ...registry.readOnly! } };
    const repo = unique("readonly");
    const img = makeFixtureImage({ layers: 1 });
    await pushImage(trusted, `//${registry.host}/${repo}:v1`, full, img, createMemoryCache());
    await pullAll(trusted, `//${registry.host}/${repo}:v1`, reader, img);
    const err = await pushImage(trusted, `//${registry.host}/${repo}:v2`, reader, makeFixtureImage({ layers: 1 }), createMemoryCache()).catch((e: unknown) => e);
    expect(err instanceof UnauthorizedError || err instanceof DeniedError).toBe(true);
  });

  test("an insufficient_scope answer is retried once with the scope it names (the catalog's registry:catalog:*)", async () => {
    const ctx = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const repo = unique("catalog");
    await pushImage(trusted, `//${registry.host}/${repo}:v1`, ctx, makeFixtureImage({ layers: 1 }), createMemoryCache());
    registry.tokenServer!.clearRequests();
    // listRepositories() uses the default transport; the realm must be trusted to send credentials.
    const repos = await listRepositories(registry.host, ctx).catch((e: unknown) => e);
    expect(repos).toBeInstanceOf(UnauthorizedError);
    expect((repos as Error).message).toContain("were not sent to the token server");
    const scopes = registry.tokenServer!.requests.map((r) => r.scopes.map((s) => `${s.type}:${s.name}:${s.actions.join(",")}`));
    expect(scopes).toEqual([[], ["registry:catalog:*"]]);
    expect(registry.tokenServer!.requests.every((r) => r.grant === "anonymous")).toBe(true);
  });

  test("an identity token is refreshed with the OAuth2 refresh_token grant and client_id stevedore", async () => {
    const full = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const repo = unique("identity");
    const img = makeFixtureImage({ layers: 1 });
    await pushImage(trusted, `//${registry.host}/${repo}:v1`, full, img, createMemoryCache());
    const identityToken = registry.tokenServer!.issueRefreshToken(registry.username!);
    registry.tokenServer!.clearRequests();
    await pullAll(trusted, `//${registry.host}/${repo}:v1`, { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { identityToken } }, img);
    expect(registry.tokenServer!.requests).toHaveLength(1);
    expect(registry.tokenServer!.requests[0]).toMatchObject({ method: "POST", grant: "refresh_token", clientId: "stevedore", username: registry.username });
  });

  test("dockerBearerRegistryToken is sent as is, without asking the token server", async () => {
    const full = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const repo = unique("bearer");
    const img = makeFixtureImage({ layers: 1 });
    await pushImage(trusted, `//${registry.host}/${repo}:v1`, full, img, createMemoryCache());
    const token = registry.tokenServer!.issueToken({ subject: "someone", access: [{ type: "repository", name: repo, actions: ["pull"] }] });
    registry.tokenServer!.clearRequests();
    await pullAll(dockerTransport, `//${registry.host}/${repo}:v1`, { ...base, dockerInsecureSkipTLSVerify: true, dockerBearerRegistryToken: token }, img);
    expect(registry.tokenServer!.requests).toHaveLength(0);
  });

  test("the catalog works with a trusted realm: the retry adds registry:catalog:* with credentials", async () => {
    const ctx = { ...base, dockerInsecureSkipTLSVerify: true, dockerAuthConfig: { username: registry.username!, password: registry.password! } };
    const repo = unique("catalog2");
    await pushImage(trusted, `//${registry.host}/${repo}:v1`, ctx, makeFixtureImage({ layers: 1 }), createMemoryCache());
    // A token registry's catalog through a transport that trusts the realm.
    const { listRepositories: list } = await import("@stevedore/transport-docker");
    registry.tokenServer!.clearRequests();
    const repos = await list(registry.host, ctx, { transport: trusted });
    expect(repos).toContain(repo);
    const scopes = registry.tokenServer!.requests.map((r) => r.scopes.map((s) => `${s.type}:${s.name}:${s.actions.join(",")}`));
    expect(scopes).toEqual([[], ["registry:catalog:*"]]);
    expect(registry.tokenServer!.requests.every((r) => r.grant === "basic")).toBe(true);
  });
});
