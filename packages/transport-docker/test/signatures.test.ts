// Signatures of docker:// images: registries.d lookaside (file: and http:) and sigstore attachments, against the real registry.
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { makeFixtureImage, makeFixtureIndex, startRegistry, type FixtureImage, type RegistryHandle } from "@stevedore/testing";
import { dockerTransport, MAX_LOOKASIDE_SIGNATURES } from "@stevedore/transport-docker";
import {
  digestHex,
  encodeSignatureBlob,
  ManifestUnknownError,
  SizeLimitExceededError,
  SizeMismatchError,
  UnsupportedError,
  UnsupportedManifestTypeError,
  utf8,
  type Digest,
  type Signature,
  type SigstoreSignature,
  type SystemContext,
} from "@stevedore/types";
import { chunks, isolatedContext, rawPushBlob, rawPushImage, rawPushManifest, sha256 } from "./helpers.js";

let registry: RegistryHandle;
let base: SystemContext;
let dir: string;
let cleanup: () => Promise<void>;

beforeAll(async () => {
  registry = await startRegistry();
  ({ ctx: base, dir, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true }));
});
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
});

const unique = (prefix: string) => `${prefix}/r${randomBytes(4).toString("hex")}`;
const simple = (text: string): Signature => ({ format: "simple-signing", untrustedSignature: utf8(`simple ${text}`) });
const sigstore = (text: string, annotations: Record<string, string> = { "dev.cosignproject.cosign/signature": `sig-${text}` }): SigstoreSignature => ({
  format: "sigstore-json",
  untrustedMIMEType: "application/vnd.dev.cosign.simplesigning.v1+json",
  untrustedPayload: utf8(`{"payload":"${text}"}`),
  untrustedAnnotations: annotations,
});

/** A context whose registries.d holds `yaml` (as registries.yaml in a new directory). */
async function withRegistriesD(yaml: string): Promise<{ ctx: SystemContext; dDir: string }> {
  const dDir = await mkdtemp(join(dir, "registries.d-"));
  await writeFile(join(dDir, "registries.yaml"), yaml);
  return { ctx: { ...base, registriesDirPath: dDir }, dDir };
}

/** A new lookaside directory and a context whose registries.d points default-docker at it. */
async function fileLookaside(extra = ""): Promise<{ ctx: SystemContext; store: string }> {
  const store = await mkdtemp(join(dir, "lookaside-"));
  const { ctx } = await withRegistriesD(`default-docker:\n  lookaside: file://${store}\n${extra}`);
  return { ctx, store };
}

/** Pushes an image with the destination API: blobs, manifest, then `sign` (before commit), then commit unless `commit` is false. */
async function push(text: string, ctx: SystemContext, img: FixtureImage, sign?: (d: Awaited<ReturnType<typeof open>>) => Promise<void>, commit = true): Promise<void> {
  const dest = await open(text, ctx);
  try {
    const cache = createMemoryCache();
    for (const [digest, bytes] of img.blobs) await dest.putBlob(chunks(bytes), { digest, size: bytes.length }, { cache });
    await dest.putManifest(img.manifest);
    await sign?.(dest);
    if (commit) await dest.commit();
  } finally {
    await dest.close();
  }
}
const open = (text: string, ctx: SystemContext) => dockerTransport.parseReference(text).newImageDestination(ctx);

async function signaturesOf(text: string, ctx: SystemContext, instance?: Digest): Promise<Signature[]> {
  const src = await dockerTransport.parseReference(text).newImageSource(ctx);
  try {
    return await src.getSignatures(instance);
  } finally {
    await src.close();
  }
}

/** The signature directory of `repo@digest` under a file lookaside base. */
const sigDir = (store: string, repo: string, digest: Digest) => join(store, `${repo}@sha256=${digestHex(digest)}`);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

describe("file: lookaside", () => {
  test("putSignatures() + commit() writes signature-1… under <lookaside>/<repo>@sha256=<hex>/, and getSignatures() reads them back", async () => {
    const { ctx, store } = await fileLookaside();
    const img = makeFixtureImage();
    const repo = unique("sig/file");
    const text = `//${registry.host}/${repo}:v1`;
    const sigs = [simple("one"), simple("two"), sigstore("in-lookaside")];
    // A sigstore signature is not written to the lookaside: only with attachments (off here).
    await expect(push(text, ctx, img, (d) => d.putSignatures(sigs))).rejects.toBeInstanceOf(UnsupportedError);
    await push(text, ctx, img, (d) => d.putSignatures(sigs.slice(0, 2)));
    const d = sigDir(store, repo, img.digest);
    expect((await readdir(d)).sort()).toEqual(["signature-1", "signature-2"]);
    expect(new Uint8Array(await readFile(join(d, "signature-1")))).toEqual(encodeSignatureBlob(sigs[0]!));
    expect(await signaturesOf(text, ctx)).toEqual(sigs.slice(0, 2));
    // by digest too
    expect(await signaturesOf(`//${registry.host}/${repo}@${img.digest}`, ctx)).toEqual(sigs.slice(0, 2));
  });

  test("signatures become visible only at commit(), and close() without commit() leaves the stored ones byte-identical", async () => {
    const { ctx, store } = await fileLookaside();
    const img = makeFixtureImage();
    const repo = unique("sig/atomic");
    const text = `//${registry.host}/${repo}:v1`;
    const d = sigDir(store, repo, img.digest);
    await push(text, ctx, img, async (dest) => {
      await dest.putSignatures([simple("a")]);
      expect(await exists(d)).toBe(false);
    });
    const before = await readFile(join(d, "signature-1"));
    await push(text, ctx, img, (dest) => dest.putSignatures([simple("b"), simple("c")]), false);
    expect((await readdir(d)).sort()).toEqual(["signature-1"]);
    expect(await readFile(join(d, "signature-1"))).toEqual(before);
  });

  test("a later putSignatures() replaces the stored signatures and removes higher-numbered ones", async () => {
    const { ctx, store } = await fileLookaside();
    const img = makeFixtureImage();
    const repo = unique("sig/replace");
    const text = `//${registry.host}/${repo}:v1`;
    await push(text, ctx, img, (dest) => dest.putSignatures([simple("1"), simple("2"), simple("3")]));
    await push(text, ctx, img, (dest) => dest.putSignatures([simple("new")]));
    expect(await readdir(sigDir(store, repo, img.digest))).toEqual(["signature-1"]);
    expect(await signaturesOf(text, ctx)).toEqual([simple("new")]);
  });

  test("the write removes temp files left by a killed writer and leaves none of its own", async () => {
    const { ctx, store } = await fileLookaside();
    const img = makeFixtureImage();
    const repo = unique("sig/temps");
    const d = sigDir(store, repo, img.digest);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    await mkdir(d, { recursive: true });
    const stale = join(d, `.signature-1.stevedore-${dead}-0123abcd.tmp`);
    await writeFile(stale, "half a signature");
    await push(`//${registry.host}/${repo}:v1`, ctx, img, (dest) => dest.putSignatures([simple("x")]));
    expect(await readdir(d)).toEqual(["signature-1"]);
  });

  test("lookaside-staging is written, lookaside is read", async () => {
    const read = await mkdtemp(join(dir, "read-"));
    const staging = await mkdtemp(join(dir, "staging-"));
    const { ctx } = await withRegistriesD(`docker:\n  ${registry.host}:\n    lookaside: file://${read}\n    lookaside-staging: file://${staging}\n`);
    const img = makeFixtureImage();
    const repo = unique("sig/staging");
    const text = `//${registry.host}/${repo}:v1`;
    await push(text, ctx, img, (dest) => dest.putSignatures([simple("staged")]));
    expect(await exists(join(sigDir(staging, repo, img.digest), "signature-1"))).toBe(true);
    expect(await exists(sigDir(read, repo, img.digest))).toBe(false);
    expect(await signaturesOf(text, ctx)).toEqual([]);
  });

  test("without any registries.d the built-in default lookaside is written and read", async () => {
    const img = makeFixtureImage();
    const repo = unique("sig/default");
    const text = `//${registry.host}/${repo}:v1`;
    await push(text, base, img, (dest) => dest.putSignatures([simple("default")]));
    const root = process.geteuid?.() === 0 ? join(base.rootForImplicitAbsolutePaths!, "var/lib/containers/sigstore") : join(base.homeDir!, ".local/share/containers/sigstore");
    expect(await exists(join(sigDir(root, repo, img.digest), "signature-1"))).toBe(true);
    expect(await signaturesOf(text, base)).toEqual([simple("default")]);
  });

  test("an http: lookaside without lookaside-staging cannot be written: UnsupportedError naming the namespace and the fix, before anything is written", async () => {
    const { ctx, dDir } = await withRegistriesD(`docker:\n  ${registry.host}/sig:\n    lookaside: https://sigs.example.com/store\n`);
    const img = makeFixtureImage();
    const err = await push(`//${registry.host}/${unique("sig/http")}:v1`, ctx, img, (dest) => dest.putSignatures([simple("x")])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toContain(`"docker" namespace "${registry.host}/sig"`);
    expect((err as Error).message).toContain("lookaside-staging: file:///");
    expect((err as Error).message).toContain(join(dDir, "registries.yaml"));
  });

  test("signatures of index instances are stored and read by the instance digest; unknown instances are refused", async () => {
    const { ctx, store } = await fileLookaside();
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux" },
    ]);
    const repo = unique("sig/index");
    const text = `//${registry.host}/${repo}:v1`;
    const dest = await open(text, ctx);
    try {
      const cache = createMemoryCache();
      for (const img of index.images) {
        for (const [digest, bytes] of img.blobs) await dest.putBlob(chunks(bytes), { digest, size: bytes.length }, { cache });
        await dest.putManifest(img.manifest, img.digest);
        await dest.putSignatures([simple(`instance ${img.digest}`)], img.digest);
      }
      await expect(dest.putSignatures([simple("x")], sha256("not stored"))).rejects.toBeInstanceOf(ManifestUnknownError);
      await dest.putManifest(index.manifest);
      await dest.putSignatures([simple("list")]);
      await dest.commit();
    } finally {
      await dest.close();
    }
    expect(await signaturesOf(text, ctx)).toEqual([simple("list")]);
    for (const img of index.images) {
      expect(await signaturesOf(text, ctx, img.digest)).toEqual([simple(`instance ${img.digest}`)]);
      expect(await exists(join(sigDir(store, repo, img.digest), "signature-1"))).toBe(true);
    }
  });

  test("deleteImage() removes the lookaside signatures of the deleted digest and keeps others", async () => {
    const { ctx, store } = await fileLookaside();
    const repo = unique("sig/delete");
    const a = makeFixtureImage();
    const b = makeFixtureImage();
    await push(`//${registry.host}/${repo}:a`, ctx, a, (dest) => dest.putSignatures([simple("a1"), simple("a2")]));
    await push(`//${registry.host}/${repo}:b`, ctx, b, (dest) => dest.putSignatures([simple("b1")]));
    await dockerTransport.parseReference(`//${registry.host}/${repo}:a`).deleteImage(ctx);
    expect(await readdir(sigDir(store, repo, a.digest))).toEqual([]);
    expect(await readdir(sigDir(store, repo, b.digest))).toEqual(["signature-1"]);
  });
});

/** A lookaside web server: `handle(n, res)` answers signature-n; records every request. */
async function lookasideServer(handle: (n: number, res: ServerResponse) => void): Promise<{ url: string; requests: IncomingMessage[]; server: Server }> {
  const requests: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    const m = /\/signature-(\d+)$/.exec(req.url ?? "");
    if (!m) {
      res.writeHead(400).end();
      return;
    }
    handle(Number(m[1]), res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/store`, requests, server };
}

describe("http: lookaside", () => {
  let repo: string;
  let img: FixtureImage;
  beforeAll(async () => {
    repo = unique("sig/web");
    img = makeFixtureImage();
    await rawPushImage(registry.url, repo, "v1", img);
  });
  const close = (s: Server) => new Promise<void>((resolve) => s.close(() => resolve()));

  async function read(url: string, extra: SystemContext = {}): Promise<Signature[]> {
    const { ctx } = await withRegistriesD(`default-docker:\n  lookaside: ${url}\n`);
    return signaturesOf(`//${registry.host}/${repo}:v1`, { ...ctx, ...extra });
  }

  test("getSignatures() reads signature-1… over http up to the first 404, at <lookaside>/<repo>@sha256=<hex>/signature-<n>", async () => {
    const web = await lookasideServer((n, res) => (n <= 3 ? res.writeHead(200, { "content-type": "application/octet-stream" }).end(`web ${n}`) : res.writeHead(404).end()));
    try {
      expect(await read(web.url)).toEqual([1, 2, 3].map((n) => ({ format: "simple-signing", untrustedSignature: utf8(`web ${n}`) })));
      expect(web.requests.map((r) => r.url)).toEqual([1, 2, 3, 4].map((n) => `/store/${repo}@sha256=${digestHex(img.digest)}/signature-${n}`));
    } finally {
      await close(web.server);
    }
  });

  test("getSignatures() sends no credentials to the lookaside", async () => {
    const web = await lookasideServer((n, res) => (n === 1 ? res.writeHead(200).end("one") : res.writeHead(404).end()));
    try {
      expect(await read(web.url, { dockerAuthConfig: { username: "user", password: "secret" } })).toHaveLength(1);
      expect(web.requests.map((r) => r.headers.authorization)).toEqual([undefined, undefined]);
    } finally {
      await close(web.server);
    }
  });

  test("getSignatures() takes a text/html answer as the end of the list", async () => {
    const web = await lookasideServer((n, res) =>
      n === 1 ? res.writeHead(200).end("real") : res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<html>Not found</html>"),
    );
    try {
      expect(await read(web.url)).toEqual([{ format: "simple-signing", untrustedSignature: utf8("real") }]);
      expect(web.requests).toHaveLength(2);
    } finally {
      await close(web.server);
    }
  });

  test("getSignatures() refuses a 5 MiB signature with SizeLimitExceededError, with or without Content-Length", async () => {
    const big = new Uint8Array(5 * 1024 * 1024).fill(0x41);
    for (const declared of [true, false]) {
      const web = await lookasideServer((_n, res) => {
        if (declared) res.writeHead(200, { "content-length": String(big.length) }).end(big);
        else {
          res.writeHead(200);
          res.write(big.subarray(0, big.length / 2));
          res.end(big.subarray(big.length / 2));
        }
      });
      try {
        await expect(read(web.url)).rejects.toBeInstanceOf(SizeLimitExceededError);
      } finally {
        web.server.closeAllConnections();
        await close(web.server);
      }
    }
  });

  test(`getSignatures() accepts ${MAX_LOOKASIDE_SIGNATURES} signatures and refuses a server offering 200 after ${MAX_LOOKASIDE_SIGNATURES + 1} requests`, async () => {
    expect(MAX_LOOKASIDE_SIGNATURES).toBe(128);
    const upTo = (max: number) => (n: number, res: ServerResponse) => (n <= max ? res.writeHead(200).end(`sig ${n}`) : res.writeHead(404).end());
    const exact = await lookasideServer(upTo(128));
    try {
      const sigs = await read(exact.url);
      expect(sigs).toHaveLength(128);
      expect(sigs[127]).toEqual({ format: "simple-signing", untrustedSignature: utf8("sig 128") });
    } finally {
      await close(exact.server);
    }
    const many = await lookasideServer(upTo(200));
    try {
      const err = await read(many.url).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SizeLimitExceededError);
      expect((err as Error).message).toContain("more than 128 signatures");
      expect(many.requests).toHaveLength(129);
    } finally {
      await close(many.server);
    }
  });

  test("getSignatures() fails on a lookaside answering 500 instead of taking it as the end", async () => {
    const web = await lookasideServer((_n, res) => res.writeHead(500).end("boom"));
    try {
      await expect(read(web.url, { retryTimes: 0 })).rejects.toThrow(/HTTP 500/);
    } finally {
      await close(web.server);
    }
  });
});

describe("sigstore attachments", () => {
  async function attachment(repo: string, digest: Digest): Promise<{ manifest: Record<string, unknown>; config: Record<string, unknown> }> {
    const res = await fetch(`${registry.url}/v2/${repo}/manifests/sha256-${digestHex(digest)}.sig`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
    const manifest = (await res.json()) as { config: { digest: string } } & Record<string, unknown>;
    const config = (await (await fetch(`${registry.url}/v2/${repo}/blobs/${manifest.config.digest}`)).json()) as Record<string, unknown>;
    return { manifest, config };
  }

  test("sigstore signatures are written as the sha256-<hex>.sig manifest (one layer each, config diff_ids) and read back unchanged", async () => {
    const { ctx } = await fileLookaside("  use-sigstore-attachments: true\n");
    const img = makeFixtureImage();
    const repo = unique("sig/attach");
    const text = `//${registry.host}/${repo}:v1`;
    const a = sigstore("a");
    const b = sigstore("b", { "dev.cosignproject.cosign/signature": "sig-b", "dev.sigstore.cosign/bundle": "{}" });
    await push(text, ctx, img, (dest) => dest.putSignatures([simple("plain"), a, b]));
    const { manifest, config } = await attachment(repo, img.digest);
    expect(manifest.schemaVersion).toBe(2);
    expect(manifest.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(manifest.layers).toEqual(
      [a, b].map((s) => ({ mediaType: s.untrustedMIMEType, digest: sha256(s.untrustedPayload), size: s.untrustedPayload.length, annotations: s.untrustedAnnotations })),
    );
    expect((manifest.config as { mediaType: string }).mediaType).toBe("application/vnd.oci.image.config.v1+json");
    expect(config).toEqual({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [sha256(a.untrustedPayload), sha256(b.untrustedPayload)] } });
    expect(await signaturesOf(text, ctx)).toEqual([simple("plain"), a, b]);
  });

  test("storing again appends only the signatures not already attached (same payload and annotations)", async () => {
    const { ctx } = await fileLookaside("  use-sigstore-attachments: true\n");
    const img = makeFixtureImage();
    const repo = unique("sig/append");
    const text = `//${registry.host}/${repo}:v1`;
    const a = sigstore("a");
    const b = sigstore("b");
    const bOther = sigstore("b", { "dev.cosignproject.cosign/signature": "another signature of b" });
    await push(text, ctx, img, (dest) => dest.putSignatures([a, b]));
    await push(text, ctx, img, (dest) => dest.putSignatures([b, bOther]));
    const { manifest, config } = await attachment(repo, img.digest);
    expect((manifest.layers as { annotations: Record<string, string> }[]).map((l) => l.annotations["dev.cosignproject.cosign/signature"])).toEqual([
      "sig-a",
      "sig-b",
      "another signature of b",
    ]);
    expect((config.rootfs as { diff_ids: string[] }).diff_ids).toHaveLength(3);
    expect(await signaturesOf(text, ctx)).toEqual([a, b, bOther]);
  });

  test("without use-sigstore-attachments, sigstore signatures are refused (naming the setting) and attachments are not read", async () => {
    const enabled = await fileLookaside("  use-sigstore-attachments: true\n");
    const disabled = await withRegistriesD(`docker:\n  ${registry.host}:\n    use-sigstore-attachments: false\n`);
    const img = makeFixtureImage();
    const repo = unique("sig/off");
    const text = `//${registry.host}/${repo}:v1`;
    await push(text, enabled.ctx, img, (dest) => dest.putSignatures([sigstore("x")]));
    const err = await push(text, disabled.ctx, img, (dest) => dest.putSignatures([sigstore("y")])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toContain("use-sigstore-attachments: true");
    expect(await signaturesOf(text, disabled.ctx)).toEqual([]);
    expect(await signaturesOf(text, enabled.ctx)).toEqual([sigstore("x")]);
  });

  test("an attachment layer claiming more than 4 MiB is refused with SizeLimitExceededError, a wrong size with SizeMismatchError", async () => {
    const { ctx } = await fileLookaside("  use-sigstore-attachments: true\n");
    for (const [claimed, error] of [
      [5 * 1024 * 1024, SizeLimitExceededError],
      [3, SizeMismatchError],
    ] as const) {
      const img = makeFixtureImage();
      const repo = unique("sig/hostile");
      await rawPushImage(registry.url, repo, "v1", img);
      const payload = utf8("a real payload");
      const layerDigest = await rawPushBlob(registry.url, repo, payload);
      const config = utf8(JSON.stringify({ architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [layerDigest] } }));
      const configDigest = await rawPushBlob(registry.url, repo, config);
      const manifest = utf8(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
          layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: layerDigest, size: claimed }],
        }),
      );
      await rawPushManifest(registry.url, repo, `sha256-${digestHex(img.digest)}.sig`, manifest, "application/vnd.oci.image.manifest.v1+json");
      await expect(signaturesOf(`//${registry.host}/${repo}:v1`, ctx)).rejects.toBeInstanceOf(error);
    }
  });

  test("an attachment tag holding something else than an OCI manifest is refused with UnsupportedManifestTypeError", async () => {
    const { ctx } = await fileLookaside("  use-sigstore-attachments: true\n");
    const img = makeFixtureImage();
    const repo = unique("sig/notoci");
    await rawPushImage(registry.url, repo, "v1", img);
    await rawPushImage(registry.url, repo, `sha256-${digestHex(img.digest)}.sig`, makeFixtureImage({ format: "docker" }));
    await expect(signaturesOf(`//${registry.host}/${repo}:v1`, ctx)).rejects.toBeInstanceOf(UnsupportedManifestTypeError);
  });
});
