import { createHash } from "node:crypto";
import { Agent, fetch, type Dispatcher, type Response } from "undici";

/** A tiny HTTP client for the registry API: the base URL, an optional CA to trust and an Authorization header. */
export interface Client {
  base: string;
  dispatcher?: Dispatcher;
  authorization?: string;
}

/** An undici dispatcher trusting `ca` (and, if given, checking the certificate against `servername`). */
export function trusting(ca: string, servername?: string): Agent {
  return new Agent({ connect: { ca, ...(servername ? { servername } : {}) } });
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

export async function call(client: Client, path: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array | string } = {}): Promise<Response> {
  const url = new URL(path, client.base);
  return fetch(url, {
    method: init.method ?? "GET",
    headers: { ...(client.authorization ? { authorization: client.authorization } : {}), ...init.headers },
    ...(init.body !== undefined ? { body: init.body } : {}),
    ...(client.dispatcher ? { dispatcher: client.dispatcher } : {}),
    redirect: "manual",
  });
}

/** Pushes `bytes` as one blob (POST an upload, then PUT it whole with ?digest=); returns the digest. */
export async function pushBlob(client: Client, repo: string, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const start = await call(client, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  if (start.status !== 202) throw new Error(`POST upload: HTTP ${start.status} ${await start.text()}`);
  await start.body?.cancel();
  const location = new URL(start.headers.get("location")!, client.base);
  location.searchParams.set("digest", digest);
  const put = await call(client, location.toString(), {
    method: "PUT",
    headers: { "content-type": "application/octet-stream" },
    body: bytes,
  });
  if (put.status !== 201) throw new Error(`PUT upload: HTTP ${put.status} ${await put.text()}`);
  await put.body?.cancel();
  return digest;
}

/** GETs a blob; returns its bytes. */
export async function pullBlob(client: Client, repo: string, digest: string): Promise<Uint8Array> {
  const res = await call(client, `/v2/${repo}/blobs/${digest}`);
  if (res.status !== 200) throw new Error(`GET blob: HTTP ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

/** Pushes a config and a layer blob and an OCI manifest referencing them under `tag`; returns what was pushed. */
export async function pushImage(client: Client, repo: string, tag: string, layer: Uint8Array) {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(layer)] } }));
  const configDigest = await pushBlob(client, repo, config);
  const layerDigest = await pushBlob(client, repo, layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: configDigest, size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar", digest: layerDigest, size: layer.length }],
  });
  const put = await call(client, `/v2/${repo}/manifests/${tag}`, {
    method: "PUT",
    headers: { "content-type": OCI_MANIFEST },
    body: manifest,
  });
  if (put.status !== 201) throw new Error(`PUT manifest: HTTP ${put.status} ${await put.text()}`);
  await put.body?.cancel();
  return { manifest, manifestDigest: sha256(manifest), configDigest, layerDigest, putDigestHeader: put.headers.get("docker-content-digest") };
}

/** Parses a `WWW-Authenticate: Bearer realm="…",service="…",scope="…"` challenge. */
export function parseBearer(header: string | null): Record<string, string> {
  if (!header || !/^bearer /i.test(header)) throw new Error(`not a Bearer challenge: ${header}`);
  const params: Record<string, string> = {};
  for (const m of header.slice(7).matchAll(/([a-z_]+)="([^"]*)"/gi)) params[m[1]!.toLowerCase()] = m[2]!;
  return params;
}

/** Decodes a JWT's header and claims (no verification). */
export function decodeJwt(token: string): { header: Record<string, unknown>; claims: Record<string, unknown> } {
  const [h, c] = token.split(".");
  return {
    header: JSON.parse(Buffer.from(h!, "base64url").toString("utf8")) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c!, "base64url").toString("utf8")) as Record<string, unknown>,
  };
}

export function randomBlob(size: number, seed: string): Uint8Array {
  const out = new Uint8Array(size);
  let block = createHash("sha256").update(seed).digest();
  for (let i = 0; i < size; i += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - i)), i);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}
