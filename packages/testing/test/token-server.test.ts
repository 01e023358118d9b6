import { createPublicKey, verify, X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseScope, PULL_ONLY, startTokenServer, type TokenServer } from "@stevedore/testing";
import { basic, decodeJwt } from "./helpers.js";
import { fetch } from "undici";

function verifies(token: string, certPem: string): boolean {
  const [h, c, s] = token.split(".");
  const key = createPublicKey(new X509Certificate(certPem).publicKey.export({ type: "spki", format: "pem" }));
  return verify("sha256", Buffer.from(`${h}.${c}`), key, Buffer.from(s!, "base64url"));
}

function form(fields: Record<string, string>) {
  return { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(fields).toString() };
}

describe("startTokenServer()", () => {
  let server: TokenServer;
  beforeAll(async () => {
    server = await startTokenServer({
      users: { writer: { password: "w-pass" }, reader: { password: "r-pass", access: PULL_ONLY }, scoped: { password: "s-pass", access: [{ name: "team/*", actions: ["pull", "push"] }] } },
    });
  });
  afterAll(async () => {
    await server?.stop();
  });

  test("GET realm with Basic credentials answers an RS256 JWT with the requested access, signed by signingCertPem", async () => {
    const res = await fetch(`${server.realm}?service=${server.service}&scope=repository:app/web:pull,push`, { headers: { authorization: basic("writer", "w-pass") } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.token).toBe(body.access_token);
    expect(body.expires_in).toBe(300);
    expect(Number.isNaN(Date.parse(body.issued_at as string))).toBe(false);
    expect(body.refresh_token).toBeUndefined();
    const token = body.token as string;
    const { header, claims } = decodeJwt(token);
    expect(header.alg).toBe("RS256");
    expect(header.kid).toBe(server.keyId);
    expect(header.x5c).toEqual([Buffer.from(new X509Certificate(server.signingCertPem).raw).toString("base64")]);
    expect(server.keyId).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
    expect(claims).toMatchObject({ iss: server.issuer, aud: server.service, sub: "writer", access: [{ type: "repository", name: "app/web", actions: ["pull", "push"] }] });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);
    expect(verifies(token, server.signingCertPem)).toBe(true);
    expect(verifies(`${token.slice(0, -4)}AAAA`, server.signingCertPem)).toBe(false);
  });

  test("a read-only user asking for pull,push gets only pull", async () => {
    const res = await fetch(`${server.realm}?service=${server.service}&scope=repository:app/web:pull,push`, { headers: { authorization: basic("reader", "r-pass") } });
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token).claims.access).toEqual([{ type: "repository", name: "app/web", actions: ["pull"] }]);
  });

  test("access rules match names with wildcards and several scopes are answered together", async () => {
    const res = await fetch(`${server.realm}?service=${server.service}&scope=repository:team/a:pull,push&scope=repository:other/b:pull registry:catalog:*`, {
      headers: { authorization: basic("scoped", "s-pass") },
    });
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token).claims.access).toEqual([{ type: "repository", name: "team/a", actions: ["pull", "push"] }]);
  });

  test("a wrong password is refused with 401 and recorded without the password", async () => {
    server.clearRequests();
    const res = await fetch(`${server.realm}?service=${server.service}&scope=repository:x:pull`, { headers: { authorization: basic("writer", "bad") } });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
    const [record] = server.requests;
    expect(record).toMatchObject({ method: "GET", grant: "basic", username: "writer", status: 401, granted: [] });
    expect(JSON.stringify(server.requests)).not.toContain("bad");
  });

  test("an anonymous GET gets a token granting nothing", async () => {
    const res = await fetch(`${server.realm}?service=${server.service}&scope=repository:app/web:pull`);
    expect(res.status).toBe(200);
    const { token } = (await res.json()) as { token: string };
    expect(decodeJwt(token).claims).toMatchObject({ sub: "", access: [] });
  });

  test("GET with offline_token=true also answers a refresh token that the OAuth2 refresh grant accepts", async () => {
    const res = await fetch(`${server.realm}?service=${server.service}&offline_token=true&client_id=test`, { headers: { authorization: basic("reader", "r-pass") } });
    const { refresh_token } = (await res.json()) as { refresh_token: string };
    expect(refresh_token).toBeTruthy();
    const again = await fetch(server.realm, form({ grant_type: "refresh_token", refresh_token, client_id: "test", service: server.service, scope: "repository:app/web:pull,push" }));
    expect(again.status).toBe(200);
    const body = (await again.json()) as Record<string, unknown>;
    expect(body.token).toBeUndefined();
    expect(body.scope).toBe("repository:app/web:pull");
    expect(decodeJwt(body.access_token as string).claims).toMatchObject({ sub: "reader", access: [{ type: "repository", name: "app/web", actions: ["pull"] }] });
  });

  test("POST grant_type=password with access_type=offline answers access_token and refresh_token", async () => {
    server.clearRequests();
    const res = await fetch(server.realm, form({ grant_type: "password", username: "writer", password: "w-pass", client_id: "stevedore", access_type: "offline", service: server.service, scope: "repository:a:push repository:b:pull" }));
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(typeof body.refresh_token).toBe("string");
    expect(body.scope).toBe("repository:a:push repository:b:pull");
    expect(decodeJwt(body.access_token as string).claims.sub).toBe("writer");
    expect(server.requests).toEqual([
      expect.objectContaining({ method: "POST", grant: "password", username: "writer", clientId: "stevedore", offline: true, status: 200, scopes: [{ type: "repository", name: "a", actions: ["push"] }, { type: "repository", name: "b", actions: ["pull"] }] }),
    ]);
  });

  test("the OAuth2 form refuses bad input: wrong password 401, unknown refresh token 401, no client_id 400, unknown grant 400", async () => {
    const cases: [Record<string, string>, number, string][] = [
      [{ grant_type: "password", username: "writer", password: "nope", client_id: "c" }, 401, "invalid_grant"],
      [{ grant_type: "refresh_token", refresh_token: "made-up", client_id: "c" }, 401, "invalid_grant"],
      [{ grant_type: "password", username: "writer", password: "w-pass" }, 400, "invalid_request"],
      [{ grant_type: "authorization_code", code: "x", client_id: "c" }, 400, "unsupported_grant_type"],
      [{ client_id: "c" }, 400, "invalid_request"],
    ];
    for (const [fields, status, error] of cases) {
      const res = await fetch(server.realm, form(fields));
      expect(res.status, JSON.stringify(fields)).toBe(status);
      expect(((await res.json()) as { error: string }).error).toBe(error);
    }
  });

  test("issueRefreshToken() makes an identity token for a known user and refuses an unknown one", async () => {
    const refresh_token = server.issueRefreshToken("writer");
    const res = await fetch(server.realm, form({ grant_type: "refresh_token", refresh_token, client_id: "c", scope: "repository:z:pull" }));
    expect(decodeJwt(((await res.json()) as { access_token: string }).access_token).claims.sub).toBe("writer");
    expect(() => server.issueRefreshToken("ghost")).toThrow(/unknown user "ghost"/);
  });

  test("addUser() makes a new user usable at once", async () => {
    server.addUser("late", { password: "late-pass", access: [] });
    const res = await fetch(`${server.realm}?scope=repository:x:pull`, { headers: { authorization: basic("late", "late-pass") } });
    expect(res.status).toBe(200);
    expect(decodeJwt(((await res.json()) as { token: string }).token).claims).toMatchObject({ sub: "late", access: [] });
    expect(() => server.addUser("a:b", { password: "x" })).toThrow(/invalid user name/);
  });

  test("a malformed scope answers 400 and an unknown path 404", async () => {
    expect((await fetch(`${server.realm}?scope=repository`)).status).toBe(400);
    expect((await fetch(`${server.url}/elsewhere`)).status).toBe(404);
  });
});

test("parseScope() splits type, name and actions; the name may hold colons", () => {
  expect(parseScope("repository:library/busybox:pull,push")).toEqual({ type: "repository", name: "library/busybox", actions: ["pull", "push"] });
  expect(parseScope("repository(plugin):a:b:pull")).toEqual({ type: "repository(plugin)", name: "a:b", actions: ["pull"] });
  expect(parseScope("registry:catalog:*")).toEqual({ type: "registry", name: "catalog", actions: ["*"] });
  expect(() => parseScope("repository:nothing")).toThrow(/invalid scope/);
});

test('startTokenServer({ anonymous: false }) refuses a request without credentials', async () => {
  await using server = await startTokenServer({ anonymous: false });
  const res = await fetch(`${server.realm}?scope=repository:x:pull`);
  expect(res.status).toBe(401);
  expect(server.requests[0]).toMatchObject({ grant: "anonymous", status: 401 });
});
