import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, beforeEach, afterEach, describe, expect, test } from "vitest";
import {
  imageDestinationConformance,
  imageSourceConformance,
  makeFixtureImage,
  makeFixtureIndex,
  startRegistry,
  type RegistryHandle,
} from "@stevedore/testing";
import { dockerTransport } from "@stevedore/transport-docker";
import type { SystemContext } from "@stevedore/types";
import { isolatedContext, rawPushImage, rawPushManifest, registrySnapshot } from "./helpers.js";

let registry: RegistryHandle;
let ctx: SystemContext;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  registry = await startRegistry();
  ({ ctx, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true }));
});
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

const api = { describe, test, expect, beforeAll, afterAll, beforeEach, afterEach };
const repo = () => `conformance/r${randomBytes(4).toString("hex")}`;

imageSourceConformance(api, "docker (single image)", async () => {
  const image = makeFixtureImage();
  const r = repo();
  await rawPushImage(registry.url, r, "v1", image);
  const source = await dockerTransport.parseReference(`//${registry.host}/${r}:v1`).newImageSource(ctx);
  return { source, image };
});

imageSourceConformance(api, "docker (index, by digest)", async () => {
  const index = makeFixtureIndex([
    { architecture: "amd64", os: "linux" },
    { architecture: "arm64", os: "linux", variant: "v8" },
  ]);
  const r = repo();
  for (const img of index.images) await rawPushImage(registry.url, r, img.digest, img);
  await rawPushManifest(registry.url, r, index.digest, index.manifest, index.mimeType);
  const source = await dockerTransport.parseReference(`//${registry.host}/${r}@${index.digest}`).newImageSource(ctx);
  return { source, image: index.images[1]!, index };
});

imageDestinationConformance(api, "docker", async () => {
  const r = repo();
  const ref = dockerTransport.parseReference(`//${registry.host}/${r}:latest`);
  return {
    open: () => ref.newImageDestination(ctx),
    openSource: () => ref.newImageSource(ctx),
    snapshot: () => registrySnapshot(registry.url, r),
  };
});
