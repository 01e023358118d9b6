import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRegistry, type RegistryHandle } from "@stevedore/testing";
import { fetch } from "undici";
import { basic, call, decodeJwt, parseBearer, pullBlob, pushBlob, pushImage, randomBlob, trusting, OCI_MANIFEST, type Client } from "./helpers.js";
import type { Dispatcher } from "undici";

/** Follows the registry's challenge: asks the realm for `scope` with Basic credentials; returns the bearer token. */
async function tokenFor(registry: RegistryHandle, scope: string, username: string, password: string, dispatcher?: Dispatcher): Promise<string> {
  const challenge = parseBearer((await call({ base: registry.url, ...(dispatcher ? { dispatcher } : {}) }, "/v2/")).headers.get("www-authenticate"));
  const url = new URL(challenge.realm!);
  url.searchParams.set("service", challenge.service!);
  if (scope) url.searchParams.set("scope", scope);
  const res = await fetch(url, { headers: { authorization: basic(username, password) }, ...(dispatcher ? { dispatcher } : {}) });
  if (res.status !== 200) throw new Error(`token: HTTP ${res.status}`);
  return ((await res.json()) as { token: string }).token;
}

describe('startRegistry({ auth: "token" })', () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ auth: "token" });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("GET /v2/ answers 401 with a Bearer challenge naming the token server's realm and service", async () => {
    const res = await call({ base: registry.url }, "/v2/");
    expect(res.status).toBe(401);
    expect(parseBearer(res.headers.get("www-authenticate"))).toEqual({ realm: registry.tokenServer!.realm, service: registry.tokenServer!.service });
    expect(registry.tokenServer!.realm).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/token$/);
  });

  test("a token from the token server opens /v2/, and a push + pull of a blob and a manifest works with a pull,push token", async () => {
    const base = await tokenFor(registry, "", registry.username!, registry.password!);
    expect((await call({ base: registry.url, authorization: `Bearer ${base}` }, "/v2/")).status).toBe(200);

    const denied = await call({ base: registry.url, authorization: `Bearer ${base}` }, "/v2/tok/app/blobs/uploads/", { method: "POST" });
    expect(denied.status).toBe(401);
    const challenge = parseBearer(denied.headers.get("www-authenticate"));
    expect(challenge).toMatchObject({ error: "insufficient_scope" });
    // The registry lists the actions in no fixed order.
    const [kind, name, actions] = String(challenge.scope).split(":");
    expect([kind, name, actions?.split(",").sort()]).toEqual(["repository", "tok/app", ["pull", "push"]]);

    const token = await tokenFor(registry, "repository:tok/app:pull,push", registry.username!, registry.password!);
    const client: Client = { base: registry.url, authorization: `Bearer ${token}` };
    const bytes = randomBlob(5000, "token blob");
    const digest = await pushBlob(client, "tok/app", bytes);
    expect(await pullBlob(client, "tok/app", digest)).toEqual(bytes);
    const pushed = await pushImage(client, "tok/app", "v1", randomBlob(70, "token layer"));
    const res = await call(client, "/v2/tok/app/manifests/v1", { headers: { accept: OCI_MANIFEST } });
    expect(await res.text()).toBe(pushed.manifest);
    expect(registry.tokenServer!.requests.some((r) => r.username === registry.username && r.granted.some((g) => g.name === "tok/app" && g.actions.includes("push")))).toBe(true);
  });

  test("the read-only user may pull but is denied push", async () => {
    const writer = await tokenFor(registry, "repository:ro/app:pull,push", registry.username!, registry.password!);
    const bytes = randomBlob(300, "read me");
    const digest = await pushBlob({ base: registry.url, authorization: `Bearer ${writer}` }, "ro/app", bytes);

    registry.tokenServer!.clearRequests();
    const { username, password } = registry.readOnly!;
    const token = await tokenFor(registry, "repository:ro/app:pull,push", username, password);
    expect(decodeJwt(token).claims.access).toEqual([{ type: "repository", name: "ro/app", actions: ["pull"] }]);
    expect(registry.tokenServer!.requests).toEqual([expect.objectContaining({ username, grant: "basic", granted: [{ type: "repository", name: "ro/app", actions: ["pull"] }] })]);
    const client: Client = { base: registry.url, authorization: `Bearer ${token}` };
    expect(await pullBlob(client, "ro/app", digest)).toEqual(bytes);
    const push = await call(client, "/v2/ro/app/blobs/uploads/", { method: "POST" });
    expect(push.status).toBe(401);
    expect(parseBearer(push.headers.get("www-authenticate")).error).toBe("insufficient_scope");
  });

  test("the registry refuses expired tokens, tokens of another issuer or service, and tampered ones", async () => {
    const server = registry.tokenServer!;
    const access = [{ type: "repository", name: "x/y", actions: ["pull"] }];
    const good = server.issueToken({ subject: "someone", access });
    expect((await call({ base: registry.url, authorization: `Bearer ${good}` }, "/v2/x/y/tags/list")).status).toBe(404);
    for (const bad of [
      server.issueToken({ access, expiresIn: -3600 }),
      server.issueToken({ access, issuer: "someone-else" }),
      server.issueToken({ access, audience: "another-service" }),
      `${good.slice(0, good.lastIndexOf(".") + 1)}${"A".repeat(good.length - good.lastIndexOf(".") - 1)}`,
    ]) {
      expect((await call({ base: registry.url, authorization: `Bearer ${bad}` }, "/v2/x/y/tags/list")).status).toBe(401);
    }
  });

  test("the OAuth2 flow works end to end: password grant with access_type=offline, then the refresh token buys a push token", async () => {
    const server = registry.tokenServer!;
    const form = (fields: Record<string, string>) => ({ method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() });
    const first = await fetch(server.realm, form({ grant_type: "password", username: registry.username!, password: registry.password!, client_id: "stevedore-test", access_type: "offline", service: server.service }));
    const { refresh_token } = (await first.json()) as { refresh_token: string };
    const second = await fetch(server.realm, form({ grant_type: "refresh_token", refresh_token, client_id: "stevedore-test", service: server.service, scope: "repository:oauth/app:pull,push" }));
    const { access_token } = (await second.json()) as { access_token: string };
    const client: Client = { base: registry.url, authorization: `Bearer ${access_token}` };
    const bytes = randomBlob(100, "oauth");
    expect(await pullBlob(client, "oauth/app", await pushBlob(client, "oauth/app", bytes))).toEqual(bytes);
  });
});

test('startRegistry({ auth: "token", tokenServer: { keyHeader: "kid" } }) accepts tokens that name their key by libtrust key ID only', async () => {
  await using registry = await startRegistry({ auth: "token", tokenServer: { keyHeader: "kid" } });
  const token = await tokenFor(registry, "repository:kid/app:pull,push", registry.username!, registry.password!);
  expect(decodeJwt(token).header.x5c).toBeUndefined();
  const client: Client = { base: registry.url, authorization: `Bearer ${token}` };
  const bytes = randomBlob(10, "kid");
  expect(await pullBlob(client, "kid/app", await pushBlob(client, "kid/app", bytes))).toEqual(bytes);
});

test('startRegistry({ auth: "token", tokenServer: { users } }) adds users with their own rules', async () => {
  await using registry = await startRegistry({ auth: "token", tokenServer: { users: { teammate: { password: "tm", access: [{ name: "team/*", actions: ["*"] }] } } } });
  const token = await tokenFor(registry, "repository:team/app:pull,push", "teammate", "tm");
  const client: Client = { base: registry.url, authorization: `Bearer ${token}` };
  await pushBlob(client, "team/app", randomBlob(10, "team"));
  const outside = await tokenFor(registry, "repository:other/app:pull,push", "teammate", "tm");
  expect((await call({ base: registry.url, authorization: `Bearer ${outside}` }, "/v2/other/app/blobs/uploads/", { method: "POST" })).status).toBe(401);
});

test('startRegistry({ auth: "token", tls: true }) runs registry and token server over HTTPS with the same CA', async () => {
  await using registry = await startRegistry({ auth: "token", tls: true });
  expect(registry.tokenServer!.realm).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/token$/);
  const dispatcher = trusting(registry.caPem!);
  try {
    const token = await tokenFor(registry, "repository:tls/tok:pull,push", registry.username!, registry.password!, dispatcher);
    const client: Client = { base: registry.url, dispatcher, authorization: `Bearer ${token}` };
    const bytes = randomBlob(1234, "tls token");
    expect(await pullBlob(client, "tls/tok", await pushBlob(client, "tls/tok", bytes))).toEqual(bytes);
    await expect(fetch(registry.tokenServer!.realm)).rejects.toThrow();
  } finally {
    await dispatcher.close();
  }
});
