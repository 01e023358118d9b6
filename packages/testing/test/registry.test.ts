import { existsSync } from "node:fs";
import { createConnection } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startRegistry, type RegistryHandle } from "@stevedore/testing";
import { call, pushBlob, pullBlob, pushImage, randomBlob, sha256, OCI_MANIFEST, type Client } from "./helpers.js";

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

describe("startRegistry() without auth", () => {
  let registry: RegistryHandle;
  let client: Client;
  beforeAll(async () => {
    registry = await startRegistry();
    client = { base: registry.url };
  });
  afterAll(async () => {
    await registry?.stop();
  });

  test("startRegistry() listens on 127.0.0.1 and GET /v2/ answers 200 with the API version header", async () => {
    expect(registry.url).toBe(`http://127.0.0.1:${registry.port}`);
    expect(registry.host).toBe(`127.0.0.1:${registry.port}`);
    expect(registry.username).toBeUndefined();
    expect(registry.certsDir).toBeUndefined();
    const res = await call(client, "/v2/");
    expect(res.status).toBe(200);
    expect(res.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
    expect(existsSync(registry.storageDir)).toBe(true);
    expect(existsSync(registry.configPath)).toBe(true);
  });

  test("a blob pushed with POST + PUT ?digest= comes back from GET /v2/<repo>/blobs/<digest> with the same bytes", async () => {
    const bytes = randomBlob(300_000, "plain blob");
    const digest = await pushBlob(client, "plain/blob", bytes);
    expect(digest).toBe(sha256(bytes));
    const back = await pullBlob(client, "plain/blob", digest);
    expect(back).toEqual(bytes);
    const head = await call(client, `/v2/plain/blob/blobs/${digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe(String(bytes.length));
    // The filesystem driver really stored it under storageDir.
    expect(existsSync(`${registry.storageDir}/docker/registry/v2/blobs/sha256/${digest.slice(7, 9)}/${digest.slice(7)}/data`)).toBe(true);
  });

  test("a manifest put by tag reads back byte for byte by tag and by digest, and DELETE by digest removes it", async () => {
    const pushed = await pushImage(client, "plain/image", "v1", randomBlob(1000, "layer"));
    expect(pushed.putDigestHeader).toBe(pushed.manifestDigest);
    for (const ref of ["v1", pushed.manifestDigest]) {
      const res = await call(client, `/v2/plain/image/manifests/${ref}`, { headers: { accept: OCI_MANIFEST } });
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe(OCI_MANIFEST);
      expect(res.headers.get("docker-content-digest")).toBe(pushed.manifestDigest);
      expect(await res.text()).toBe(pushed.manifest);
    }
    const del = await call(client, `/v2/plain/image/manifests/${pushed.manifestDigest}`, { method: "DELETE" });
    expect(del.status).toBe(202);
    const gone = await call(client, `/v2/plain/image/manifests/${pushed.manifestDigest}`, { headers: { accept: OCI_MANIFEST } });
    expect(gone.status).toBe(404);
  });

  test("logs() shows a cross-repository mount the registry served", async () => {
    const digest = await pushBlob(client, "mount/source", randomBlob(500, "mount me"));
    const mount = await call(client, `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`, { method: "POST" });
    expect(mount.status).toBe(201);
    expect(mount.headers.get("docker-content-digest")).toBe(digest);
    const logs = registry.logs();
    expect(logs).toContain(`/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source`);
    expect(logs).toMatch(/response completed[^\n]*mount=[^\n]*http\.response\.status=201/);
  });
});

describe("startRegistry() lifecycle", () => {
  test("stop() ends the process, frees the port, removes the directory, and is idempotent", async () => {
    const registry = await startRegistry();
    const { pid, port, dir } = registry;
    expect(processExists(pid)).toBe(true);
    expect(await connects(port)).toBe(true);
    await Promise.all([registry.stop(), registry.stop()]);
    expect(processExists(pid)).toBe(false);
    expect(await connects(port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    expect(registry.logs()).toContain(`listening on 127.0.0.1:${port}`);
    await registry.stop();
  });

  test("await using stops the registry when the block ends", async () => {
    let pid = 0;
    let port = 0;
    {
      await using registry = await startRegistry();
      pid = registry.pid;
      port = registry.port;
      expect((await call({ base: registry.url }, "/v2/")).status).toBe(200);
    }
    expect(processExists(pid)).toBe(false);
    expect(await connects(port)).toBe(false);
  });

  test("two registries run side by side on different ports", async () => {
    await using a = await startRegistry();
    await using b = await startRegistry();
    expect(a.port).not.toBe(b.port);
    const digest = await pushBlob({ base: a.url }, "only/in-a", randomBlob(64, "a"));
    expect((await call({ base: b.url }, `/v2/only/in-a/blobs/${digest}`)).status).toBe(404);
  });

  test("config is merged over the generated configuration", async () => {
    await using registry = await startRegistry({ config: { http: { headers: { "X-Stevedore-Test": ["merged"] } } } });
    const res = await call({ base: registry.url }, "/v2/");
    expect(res.status).toBe(200);
    expect(res.headers.get("x-stevedore-test")).toBe("merged");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("a registry that exits during start rejects with its output and leaves no directory behind", async () => {
    const error = await startRegistry({ config: { log: { level: "shouting" } } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(/docker-registry exited before it was ready/);
    expect(error!.message).toMatch(/shouting/);
    const logFile = /its output \(([^)]+)\)/.exec(error!.message)?.[1];
    expect(logFile).toBeDefined();
    expect(existsSync(logFile!)).toBe(false);
  });

  test("startRegistry() with an aborted signal rejects with the abort reason", async () => {
    const reason = new Error("not today");
    await expect(startRegistry({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  test("startRegistry() rejects an unknown auth kind", async () => {
    await expect(startRegistry({ auth: "kerberos" as never })).rejects.toThrow(/unknown auth "kerberos"/);
  });
});
