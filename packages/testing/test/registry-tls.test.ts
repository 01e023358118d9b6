import { readFileSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestCertificates, startRegistry, writeCertsDir, type RegistryHandle } from "@stevedore/testing";
import { call, pullBlob, pushImage, pushBlob, randomBlob, trusting, OCI_MANIFEST } from "./helpers.js";

/** The error code a failed TLS fetch carries somewhere in its cause chain. */
function tlsCode(error: unknown): string | undefined {
  for (let e = error as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === "string" && e.code !== "UND_ERR_SOCKET") return e.code;
  }
  return undefined;
}

describe("startRegistry({ tls: true })", () => {
  let registry: RegistryHandle;
  beforeAll(async () => {
    registry = await startRegistry({ tls: true });
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("serves HTTPS that a client trusting the generated CA can push to and pull from", async () => {
    expect(registry.url).toBe(`https://127.0.0.1:${registry.port}`);
    const dispatcher = trusting(registry.caPem!);
    try {
      const client = { base: registry.url, dispatcher };
      expect((await call(client, "/v2/")).status).toBe(200);
      const bytes = randomBlob(10_000, "tls blob");
      const digest = await pushBlob(client, "tls/blob", bytes);
      expect(await pullBlob(client, "tls/blob", digest)).toEqual(bytes);
      const pushed = await pushImage(client, "tls/image", "v1", randomBlob(10, "tls layer"));
      const res = await call(client, `/v2/tls/image/manifests/${pushed.manifestDigest}`, { headers: { accept: OCI_MANIFEST } });
      expect(await res.text()).toBe(pushed.manifest);
    } finally {
      await dispatcher.close();
    }
  });

  test("a client without the CA fails the TLS handshake", async () => {
    const error = await call({ base: registry.url }, "/v2/").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    expect(tlsCode(error)).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/);
  });

  test("a client trusting a different CA fails the TLS handshake", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stevedore-other-ca-"));
    const other = await createTestCertificates(dir);
    const dispatcher = trusting(other.caPem);
    try {
      await expect(call({ base: registry.url, dispatcher }, "/v2/")).rejects.toThrow();
    } finally {
      await dispatcher.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("the certificate is valid for localhost and not for another name", async () => {
    const ok = trusting(registry.caPem!, "localhost");
    const bad = trusting(registry.caPem!, "registry.example");
    try {
      expect((await call({ base: registry.url, dispatcher: ok }, "/v2/")).status).toBe(200);
      const error = await call({ base: registry.url, dispatcher: bad }, "/v2/").then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(tlsCode(error)).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    } finally {
      await ok.close();
      await bad.close();
    }
  });

  test("certsDir holds <host>/ca.crt for 127.0.0.1:PORT and localhost:PORT, as containers-certs.d(5) reads it", async () => {
    const hosts = readdirSync(registry.certsDir!).sort();
    expect(hosts).toEqual([`127.0.0.1:${registry.port}`, `localhost:${registry.port}`].sort());
    const ca = readFileSync(join(registry.certsDir!, registry.host, "ca.crt"), "utf8");
    expect(ca).toBe(registry.caPem);
    expect(readFileSync(registry.caCertPath!, "utf8")).toBe(registry.caPem);
    const dispatcher = trusting(ca);
    try {
      expect((await call({ base: registry.url, dispatcher }, "/v2/")).status).toBe(200);
    } finally {
      await dispatcher.close();
    }
  });
});

test("writeCertsDir() rejects a host that would escape the directory", async () => {
  await expect(writeCertsDir(tmpdir(), "../evil", "x")).rejects.toThrow(/not a host/);
  await expect(writeCertsDir(tmpdir(), "..", "x")).rejects.toThrow(/not a host/);
});
