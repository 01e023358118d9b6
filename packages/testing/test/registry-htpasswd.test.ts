import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRegistry, type RegistryHandle } from "@stevedore/testing";
import { basic, call, pullBlob, pushBlob, pushImage, randomBlob, trusting, OCI_MANIFEST } from "./helpers.js";

describe('startRegistry({ auth: "htpasswd" })', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ auth: "htpasswd" });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("exposes a random user name and password", () => {
    expect(registry.username).toMatch(/^user-[0-9a-f]{8}$/);
    expect(registry.password!.length).toBeGreaterThanOrEqual(16);
    expect(registry.tokenServer).toBeUndefined();
  });

  test("GET /v2/ without credentials answers 401 with a Basic challenge", async () => {
    const res = await call({ base: registry.url }, "/v2/");
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe('Basic realm="stevedore-test"');
  });

  test("a wrong password and an unknown user are refused with 401", async () => {
    const wrong = await call({ base: registry.url, authorization: basic(registry.username!, `${registry.password}x`) }, "/v2/");
    expect(wrong.status).toBe(401);
    const unknown = await call({ base: registry.url, authorization: basic("nobody", registry.password!) }, "/v2/");
    expect(unknown.status).toBe(401);
    const push = await call({ base: registry.url, authorization: basic(registry.username!, "nope") }, "/v2/denied/blobs/uploads/", { method: "POST" });
    expect(push.status).toBe(401);
  });

  test("the right credentials push a blob and a manifest and read them back", async () => {
    const client = { base: registry.url, authorization: basic(registry.username!, registry.password!) };
    expect((await call(client, "/v2/")).status).toBe(200);
    const bytes = randomBlob(4096, "htpasswd blob");
    const digest = await pushBlob(client, "auth/blob", bytes);
    expect(await pullBlob(client, "auth/blob", digest)).toEqual(bytes);
    const pushed = await pushImage(client, "auth/image", "latest", randomBlob(100, "htpasswd layer"));
    const res = await call(client, "/v2/auth/image/manifests/latest", { headers: { accept: OCI_MANIFEST } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(pushed.manifest);
  });
});

test('startRegistry({ auth: "htpasswd", username, password }) uses the given credentials', async () => {
  await using registry = await startRegistry({ auth: "htpasswd", username: "alice", password: "s3cret pass" });
  expect(registry.username).toBe("alice");
  expect((await call({ base: registry.url, authorization: basic("alice", "s3cret pass") }, "/v2/")).status).toBe(200);
  expect((await call({ base: registry.url, authorization: basic("alice", "s3cret") }, "/v2/")).status).toBe(401);
});

test('startRegistry({ auth: "htpasswd", tls: true }) serves Basic auth over HTTPS', async () => {
  await using registry = await startRegistry({ auth: "htpasswd", tls: true });
  expect(registry.url).toBe(`https://127.0.0.1:${registry.port}`);
  const dispatcher = trusting(registry.caPem!);
  try {
    expect((await call({ base: registry.url, dispatcher }, "/v2/")).status).toBe(401);
    const client = { base: registry.url, dispatcher, authorization: basic(registry.username!, registry.password!) };
    const bytes = randomBlob(2048, "htpasswd tls");
    const digest = await pushBlob(client, "secure/blob", bytes);
    expect(await pullBlob(client, "secure/blob", digest)).toEqual(bytes);
  } finally {
    await dispatcher.close();
  }
});
