import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { makeFixtureImage, startFaultProxy, startRegistry, type RegistryHandle } from "@stevedore/testing";
import { dockerTransport, type DockerImageSource } from "@stevedore/transport-docker";
import { ManifestUnknownError, type SystemContext } from "@stevedore/types";
import { isolatedContext, rawPushImage, readBlob } from "./helpers.js";

let primary: RegistryHandle;
let mirror: RegistryHandle;
let base: SystemContext;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  [primary, mirror] = await Promise.all([startRegistry(), startRegistry()]);
  ({ ctx: base, dir, cleanup } = await isolatedContext());
});
afterAll(async () => {
  await Promise.all([primary?.stop(), mirror?.stop()]);
  await cleanup?.();
});

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function conf(text: string): Promise<SystemContext> {
  const path = join(dir, `registries-${randomBytes(4).toString("hex")}.conf`);
  await writeFile(path, text);
  return { ...base, systemRegistriesConfPath: path };
}

const unique = () => `mirrored/r${randomBytes(4).toString("hex")}`;

test("a mirror that is down falls back to the primary", async () => {
  const repo = unique();
  const img = makeFixtureImage({ layers: 1 });
  await rawPushImage(primary.url, repo, "v1", img);
  const down = await closedPort();
  const ctx = await conf(`
[[registry]]
location = "${primary.host}"
insecure = true
[[registry.mirror]]
location = "127.0.0.1:${down}"
insecure = true
`);
  const src = (await dockerTransport.parseReference(`//${primary.host}/${repo}:v1`).newImageSource(ctx)) as DockerImageSource;
  expect(src.physicalReference.name).toBe(`${primary.host}/${repo}`);
  expect((await src.getManifest()).bytes).toEqual(img.manifest);
  expect(await readBlob(src, img.layers[0]!.digest, img.layers[0]!.size, createMemoryCache())).toEqual(img.layers[0]!.bytes);
});

test("a mirror that has the image serves it, with the prefix rewritten to the mirror's location", async () => {
  const repo = unique();
  const img = makeFixtureImage({ layers: 1 });
  await rawPushImage(mirror.url, `cache/${repo}`, "v1", img);
  const ctx = await conf(`
[[registry]]
prefix = "${primary.host}/mirrored"
location = "${primary.host}/mirrored"
insecure = true
[[registry.mirror]]
location = "${mirror.host}/cache/mirrored"
insecure = true
`);
  const cache = createMemoryCache();
  const src = (await dockerTransport.parseReference(`//${primary.host}/${repo}:v1`).newImageSource(ctx)) as DockerImageSource;
  expect(src.reference.dockerReference().name).toBe(`${primary.host}/${repo}`);
  expect(src.physicalReference.name).toBe(`${mirror.host}/cache/${repo}`);
  expect(await readBlob(src, img.layers[0]!.digest, img.layers[0]!.size, cache)).toEqual(img.layers[0]!.bytes);
  // The blob was seen at the mirror's repository.
  expect(cache.candidateLocations("docker", mirror.host, img.layers[0]!.digest, { canSubstitute: false }).map((c) => c.location)).toEqual([`${mirror.host}/cache/${repo}`]);
});

test("when every source fails, the error has the primary's class and lists every attempt", async () => {
  const repo = unique();
  const down = await closedPort();
  const ctx = await conf(`
[[registry]]
location = "${primary.host}"
insecure = true
[[registry.mirror]]
location = "127.0.0.1:${down}"
insecure = true
[[registry.mirror]]
location = "${mirror.host}"
insecure = true
`);
  const err = await dockerTransport
    .parseReference(`//${primary.host}/${repo}:v1`)
    .newImageSource(ctx)
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ManifestUnknownError);
  const message = (err as Error).message;
  expect(message).toContain(`mirror 127.0.0.1:${down}/${repo}:v1`);
  expect(message).toContain(`mirror ${mirror.host}/${repo}:v1`);
  expect(message).toContain(`registry ${primary.host}/${repo}:v1`);
});

test("explicit credentials for the registry are not sent to a mirror on another host", async () => {
  await using guarded = await startRegistry({ auth: "htpasswd" });
  await using proxy = await startFaultProxy({ target: guarded.url });
  const repo = unique();
  const img = makeFixtureImage({ layers: 1 });
  await rawPushImage(primary.url, repo, "v1", img);
  const ctx = await conf(`
[[registry]]
location = "${primary.host}"
insecure = true
[[registry.mirror]]
location = "${proxy.host}"
insecure = true
`);
  // These credentials would open the mirror; they are meant for the primary only.
  const src = (await dockerTransport
    .parseReference(`//${primary.host}/${repo}:v1`)
    .newImageSource({ ...ctx, dockerAuthConfig: { username: guarded.username!, password: guarded.password! } })) as DockerImageSource;
  expect(src.physicalReference.name).toBe(`${primary.host}/${repo}`);
  expect(proxy.requests.length).toBeGreaterThan(0);
  expect(proxy.requests.some((r) => r.authorization)).toBe(false);
});

test("a digest-only mirror is skipped for a tag and used for a digest", async () => {
  const repo = unique();
  const img = makeFixtureImage({ layers: 1 });
  await rawPushImage(primary.url, repo, "v1", img);
  await rawPushImage(mirror.url, repo, "v1", img);
  await using proxy = await startFaultProxy({ target: mirror.url });
  const ctx = await conf(`
[[registry]]
location = "${primary.host}"
insecure = true
[[registry.mirror]]
location = "${proxy.host}"
insecure = true
pull-from-mirror = "digest-only"
`);
  const byTag = (await dockerTransport.parseReference(`//${primary.host}/${repo}:v1`).newImageSource(ctx)) as DockerImageSource;
  expect(byTag.physicalReference.name).toBe(`${primary.host}/${repo}`);
  expect(proxy.requests).toHaveLength(0);
  const byDigest = (await dockerTransport.parseReference(`//${primary.host}/${repo}@${img.digest}`).newImageSource(ctx)) as DockerImageSource;
  expect(byDigest.physicalReference.name).toBe(`${proxy.host}/${repo}`);
});
