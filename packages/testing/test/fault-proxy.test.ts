// The fault-injecting proxy, driven with plain fetch against the real registry.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startFaultProxy, startRegistry, type FaultProxy, type RegistryHandle } from "@stevedore/testing";
import { pushBlob, randomBlob } from "./helpers.js";

let registry: RegistryHandle;
let proxy: FaultProxy;
let blob: Uint8Array;
let digest: string;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy({ target: registry.url });
  blob = randomBlob(100_000, "fault proxy blob");
  digest = await pushBlob({ base: registry.url }, "proxied/blob", blob);
});
afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
});

const blobURL = () => `${proxy.url}/v2/proxied/blob/blobs/${digest}`;
const blobPath = /\/v2\/proxied\/blob\/blobs\//;

describe("startFaultProxy()", () => {
  test("without faults it forwards requests unchanged and records them", async () => {
    proxy.clearRequests();
    const res = await fetch(blobURL(), { headers: { authorization: "Bearer x" } });
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
    expect(proxy.requests).toHaveLength(1);
    expect(proxy.requests[0]).toMatchObject({ origin: "proxy", method: "GET", path: `/v2/proxied/blob/blobs/${digest}`, authorization: true });
    expect(proxy.requests[0]!.fault).toBeUndefined();
    expect(proxy.requests[0]!.connection).toBeGreaterThan(0);
  });

  test("a respond fault answers for the registry, only as many times as asked", async () => {
    const rule = proxy.inject({ method: "GET", path: blobPath, times: 2, fault: { kind: "respond", status: 429, headers: { "retry-after": "7" }, body: "slow" } });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(blobURL());
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toBe("7");
      expect(await res.text()).toBe("slow");
    }
    expect((await fetch(blobURL())).status).toBe(200);
    expect(rule.hits).toBe(2);
    expect(rule.remaining).toBe(0);
  });

  test("a cut fault sends the head and the first bytes, then closes the connection", async () => {
    proxy.inject({ path: blobPath, fault: { kind: "cut", afterBytes: 1000 } });
    const res = await fetch(blobURL());
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBe(String(blob.length));
    const reader = res.body!.getReader();
    let got = 0;
    const err = await (async () => {
      for (;;) {
        const r = await reader.read();
        if (r.done) return undefined;
        got += r.value.length;
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(got).toBe(1000);
  });

  test("an ignore-range fault strips Range, and hasRange selects only ranged requests", async () => {
    proxy.inject({ path: blobPath, hasRange: true, fault: { kind: "ignore-range" } });
    const plain = await fetch(blobURL(), { headers: { range: "bytes=10-" } });
    expect(plain.status).toBe(200);
    expect((await plain.arrayBuffer()).byteLength).toBe(blob.length);
    const ranged = await fetch(blobURL(), { headers: { range: "bytes=10-" } });
    expect(ranged.status).toBe(206);
    expect(new Uint8Array(await ranged.arrayBuffer())).toEqual(blob.subarray(10));
  });

  test("a flip-byte fault changes exactly one byte", async () => {
    proxy.inject({ path: blobPath, fault: { kind: "flip-byte", offset: 5 } });
    const got = new Uint8Array(await (await fetch(blobURL())).arrayBuffer());
    expect(got.length).toBe(blob.length);
    const diff = [...got].flatMap((b, i) => (b !== blob[i] ? [i] : []));
    expect(diff).toEqual([5]);
    expect(got[5]).toBe(blob[5]! ^ 0xff);
  });

  test("a redirect fault points at the side origin, which serves the body and records what it got", async () => {
    proxy.inject({ path: blobPath, fault: { kind: "redirect" } });
    const res = await fetch(blobURL(), { redirect: "manual" });
    expect(res.status).toBe(307);
    const location = res.headers.get("location")!;
    expect(location.startsWith(`${proxy.side.url}/r/`)).toBe(true);
    const followed = await fetch(location, { headers: { "x-probe": "1" } });
    expect(new Uint8Array(await followed.arrayBuffer())).toEqual(blob);
    const seen = proxy.side.requests.at(-1)!;
    expect(seen).toMatchObject({ origin: "side", method: "GET", authorization: false });
    expect(seen.headers["x-probe"]).toBe("1");
  });

  test("a stall fault delays the answer, then forwards it", async () => {
    proxy.inject({ path: blobPath, fault: { kind: "stall", ms: 50 } });
    const res = await fetch(blobURL());
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(blob);
    expect(proxy.requests.at(-1)!.fault).toBe("stall");
  });

  test("an oversize fault answers a document of the asked size", async () => {
    proxy.inject({ path: /manifests/, fault: { kind: "oversize", bytes: 300_000 } });
    const ok = await fetch(`${proxy.url}/v2/proxied/blob/manifests/x`);
    const text = await ok.text();
    expect(text.length).toBe(300_000);
    expect(JSON.parse(text).schemaVersion).toBe(2);
    proxy.inject({ path: /manifests/, fault: { kind: "oversize", status: 404, bytes: 200_000 } });
    const bad = await fetch(`${proxy.url}/v2/proxied/blob/manifests/x`);
    expect(bad.status).toBe(404);
    expect(JSON.parse(await bad.text()).errors[0].code).toBe("UNKNOWN");
  });

  test("a removed rule no longer applies and clearFaults() removes every rule", async () => {
    const rule = proxy.inject({ path: blobPath, times: Infinity, fault: { kind: "respond", status: 503 } });
    expect((await fetch(blobURL())).status).toBe(503);
    rule.remove();
    expect((await fetch(blobURL())).status).toBe(200);
    proxy.inject({ path: blobPath, times: Infinity, fault: { kind: "respond", status: 503 } });
    proxy.clearFaults();
    expect((await fetch(blobURL())).status).toBe(200);
  });

  test("a foreign-location fault moves an upload session to the side origin, which completes it", async () => {
    proxy.inject({ method: "POST", path: /blobs\/uploads\/$/, fault: { kind: "foreign-location" } });
    const start = await fetch(`${proxy.url}/v2/proxied/upload/blobs/uploads/`, { method: "POST" });
    expect(start.status).toBe(202);
    const loc = new URL(start.headers.get("location")!);
    expect(loc.origin).toBe(proxy.side.url);
    const data = randomBlob(5000, "foreign upload");
    const { createHash } = await import("node:crypto");
    loc.searchParams.set("digest", `sha256:${createHash("sha256").update(data).digest("hex")}`);
    const put = await fetch(loc, { method: "PUT", body: data as BodyInit, headers: { "content-type": "application/octet-stream" } });
    expect(put.status).toBe(201);
  });
});

describe("startFaultProxy() with token auth", () => {
  test("a rewrite-realm fault points the Bearer realm at the side origin, which forwards to the token server", async () => {
    await using tokenRegistry = await startRegistry({ auth: "token" });
    await using p = await startFaultProxy({ target: tokenRegistry.url });
    p.inject({ path: /^\/v2\/$/, fault: { kind: "rewrite-realm" } });
    const ping = await fetch(`${p.url}/v2/`);
    expect(ping.status).toBe(401);
    const realm = /realm="([^"]+)"/.exec(ping.headers.get("www-authenticate")!)![1]!;
    expect(realm.startsWith(`${p.side.url}/realm/`)).toBe(true);
    const token = await fetch(`${realm}?service=stevedore-test-registry&scope=repository:a/b:pull`);
    expect(token.status).toBe(200);
    expect(typeof ((await token.json()) as { token?: unknown }).token).toBe("string");
    expect(tokenRegistry.tokenServer!.requests.at(-1)).toMatchObject({ grant: "anonymous" });
  });
});
