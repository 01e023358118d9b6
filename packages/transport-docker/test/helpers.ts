import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool, runTestGpg, type FixtureImage } from "@stevedore/testing";
import type { DockerTransport } from "@stevedore/transport-docker";
import { readAll, streamOf, type BlobInfoCache, type BlobStream, type Digest, type ImageSource, type SystemContext } from "@stevedore/types";

/** The sha256 digest of bytes. */
export function sha256(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
}

/** Splits bytes into a stream of `n` chunks. */
export function chunks(bytes: Uint8Array, n = 4): BlobStream {
  const parts: Uint8Array[] = [];
  const step = Math.max(1, Math.ceil(bytes.length / n));
  for (let i = 0; i < bytes.length; i += step) parts.push(bytes.subarray(i, i + step));
  return streamOf(...parts);
}

/** A context with no ambient configuration: no auth files, no registries.conf, no certs.d from this machine. */
export async function isolatedContext(extra: SystemContext = {}): Promise<{ ctx: SystemContext; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "stevedore-docker-test-"));
  await mkdir(join(dir, "home"), { recursive: true });
  const conf = join(dir, "registries.conf");
  await writeFile(conf, "");
  const ctx: SystemContext = {
    homeDir: join(dir, "home"),
    env: { HOME: join(dir, "home"), XDG_RUNTIME_DIR: join(dir, "run"), XDG_CONFIG_HOME: join(dir, "home", ".config") },
    authFilePath: join(dir, "auth.json"),
    systemRegistriesConfPath: conf,
    systemRegistriesConfDirPath: join(dir, "registries.conf.d"),
    dockerPerHostCertDirPath: join(dir, "certs.d"),
    rootForImplicitAbsolutePaths: join(dir, "root"),
    ...extra,
  };
  return { ctx, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Pushes a fixture image through the destination API and commits it. */
export async function pushImage(transport: DockerTransport, refText: string, ctx: SystemContext, img: FixtureImage, cache: BlobInfoCache): Promise<void> {
  const dest = await transport.parseReference(refText).newImageDestination(ctx);
  try {
    for (const l of img.layers) await dest.putBlob(chunks(l.bytes), { digest: l.digest, size: l.size, mediaType: l.mediaType }, { cache });
    await dest.putBlob(chunks(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache, isConfig: true });
    await dest.putManifest(img.manifest);
    await dest.commit();
  } finally {
    await dest.close();
  }
}

/** Reads a whole blob through a source. */
export async function readBlob(source: ImageSource, digest: Digest, size: number, cache: BlobInfoCache): Promise<Uint8Array> {
  const { stream } = await source.getBlob({ digest, size }, cache);
  return readAll(stream);
}

/** Runs skopeo with a private HOME, no auth files and no policy (insecure policy). */
export function skopeo(args: readonly string[], home: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = requireTool("skopeo");
  const env = { ...process.env, HOME: home, XDG_RUNTIME_DIR: home, XDG_CONFIG_HOME: join(home, ".config"), REGISTRY_AUTH_FILE: join(home, "no-auth.json") };
  return new Promise((resolve) => {
    execFile(bin, ["--insecure-policy", ...args], { encoding: "utf8", env, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** The tags of a repository and the digests they point at, read with plain fetch (not our client). */
export async function registrySnapshot(baseURL: string, repo: string): Promise<string> {
  const res = await fetch(`${baseURL}/v2/${repo}/tags/list`);
  if (res.status === 404) return "(no repository)";
  const body = (await res.json()) as { tags?: string[] | null };
  const out: string[] = [];
  for (const t of (body.tags ?? []).sort()) {
    const h = await fetch(`${baseURL}/v2/${repo}/manifests/${t}`, {
      method: "HEAD",
      headers: { accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json" },
    });
    out.push(`${t}=${h.headers.get("docker-content-digest") ?? h.status}`);
  }
  return out.join(",");
}

/** Pushes a blob with plain fetch (POST, then PUT with the whole body): independent of the client under test. */
export async function rawPushBlob(baseURL: string, repo: string, bytes: Uint8Array, headers: Record<string, string> = {}): Promise<Digest> {
  const digest = sha256(bytes);
  const start = await fetch(`${baseURL}/v2/${repo}/blobs/uploads/`, { method: "POST", headers });
  if (start.status !== 202) throw new Error(`POST upload: HTTP ${start.status}`);
  const loc = new URL(start.headers.get("location")!, baseURL);
  loc.searchParams.set("digest", digest);
  const put = await fetch(loc, { method: "PUT", headers: { ...headers, "content-type": "application/octet-stream" }, body: bytes as BodyInit });
  if (put.status !== 201) throw new Error(`PUT upload: HTTP ${put.status} ${await put.text()}`);
  return digest;
}

/** Pushes a manifest with plain fetch. */
export async function rawPushManifest(baseURL: string, repo: string, ref: string, bytes: Uint8Array, mimeType: string, headers: Record<string, string> = {}): Promise<void> {
  const put = await fetch(`${baseURL}/v2/${repo}/manifests/${ref}`, { method: "PUT", headers: { ...headers, "content-type": mimeType }, body: bytes as BodyInit });
  if (put.status !== 201) throw new Error(`PUT manifest: HTTP ${put.status} ${await put.text()}`);
}

/** Pushes a fixture image (blobs and manifest by tag) with plain fetch. */
export async function rawPushImage(baseURL: string, repo: string, tag: string, img: FixtureImage): Promise<void> {
  for (const [, bytes] of img.blobs) await rawPushBlob(baseURL, repo, bytes);
  await rawPushManifest(baseURL, repo, tag, img.manifest, img.mimeType);
}

/** A gpg signing key in its own temporary GnuPG home. */
export interface GpgSigningKey {
  /** The GnuPG home holding the key (pass it as GNUPGHOME to skopeo). */
  readonly home: string;
  /** The primary key's fingerprint, uppercase hex. */
  readonly fingerprint: string;
  /** The armored public key. */
  readonly publicKey: Uint8Array;
  /** Stops the home's gpg-agent and removes the home. */
  cleanup(): Promise<void>;
}

/** Generates an Ed25519 signing key without a passphrase with the real gpg (Debian package gnupg). */
export async function makeGpgSigningKey(): Promise<GpgSigningKey> {
  const home = await mkdtemp(join(tmpdir(), "stevedore-docker-gpg-"));
  const ok = async (args: string[], passphrase?: string) => {
    const r = await runTestGpg(args, { homeDir: home, ...(passphrase !== undefined ? { passphrase } : {}) });
    if (r.code !== 0) throw new Error(`gpg ${args.join(" ")} failed (exit ${String(r.code)}): ${r.stderr}`);
    return r;
  };
  const gen = await ok(["--quick-gen-key", "Stevedore Docker Test <docker-test@stevedore.test>", "ed25519", "sign", "never"], "");
  const fingerprint = gen.status.find((s) => s.startsWith("KEY_CREATED "))?.split(" ")[2];
  if (!fingerprint) throw new Error(`gpg did not report the key it created: ${gen.stderr}`);
  const publicKey = (await ok(["--export", "--armor", fingerprint])).stdout;
  return {
    home,
    fingerprint,
    publicKey,
    cleanup: async () => {
      await new Promise<void>((resolve) => execFile("gpgconf", ["--homedir", home, "--kill", "gpg-agent"], () => resolve()));
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Writes an image in skopeo's dir: layout (version, manifest.json, blobs by hex, signature-N). */
export async function writeDirImage(path: string, img: FixtureImage, signatures: readonly Uint8Array[] = []): Promise<void> {
  await mkdir(path, { recursive: true });
  await writeFile(join(path, "version"), "Directory Transport Version: 1.1\n");
  for (const [digest, bytes] of img.blobs) await writeFile(join(path, digest.slice(digest.indexOf(":") + 1)), bytes);
  await writeFile(join(path, "manifest.json"), img.manifest);
  for (const [i, s] of signatures.entries()) await writeFile(join(path, `signature-${i + 1}`), s);
}

/** Runs skopeo (no --insecure-policy added) with a private HOME and extra environment variables. */
export function skopeoWith(args: readonly string[], home: string, env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = requireTool("skopeo");
  const full = { ...process.env, HOME: home, XDG_RUNTIME_DIR: home, XDG_CONFIG_HOME: join(home, ".config"), REGISTRY_AUTH_FILE: join(home, "no-auth.json"), ...env };
  return new Promise((resolve) => {
    execFile(bin, args, { encoding: "utf8", env: full, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}
