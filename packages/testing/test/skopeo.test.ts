// The real client: skopeo (containers/image) against each registry variant.
// It proves the certs.d layout, htpasswd and the token server (GET with Basic
// credentials, and the OAuth2 refresh grant for identity tokens) work with the
// Go implementation Stevedore mirrors, not only with our own test requests.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, expect, test } from "vitest";
import { requireTool, startRegistry } from "@stevedore/testing";
import { randomBlob, sha256, OCI_MANIFEST } from "./helpers.js";

let work: string;
let image: string;
let manifest: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "stevedore-skopeo-"));
  image = join(work, "image");
  await mkdir(image);
  // A compressed layer, so that skopeo copies it as it is (it would compress a plain tar).
  const tar = randomBlob(2048, "skopeo layer");
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [sha256(tar)] } }));
  manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: sha256(config), size: config.length },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha256(layer), size: layer.length }],
  });
  await writeFile(join(image, "version"), "Directory Transport Version: 1.1\n");
  await writeFile(join(image, "manifest.json"), manifest);
  await writeFile(join(image, sha256(config).slice(7)), config);
  await writeFile(join(image, sha256(layer).slice(7)), layer);
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/**
 * A HOME whose ~/.config/containers/certs.d is the registry's certsDir: where
 * containers/image looks for <host:port>/ca.crt, as containers-certs.d(5) says.
 */
async function homeWithCertsDir(certsDir: string): Promise<string> {
  const home = await mkdtemp(join(work, "home-"));
  await mkdir(join(home, ".config", "containers"), { recursive: true });
  await symlink(certsDir, join(home, ".config", "containers", "certs.d"));
  return home;
}

/** Runs skopeo with a private HOME (default: one without certs.d) and no ambient credentials. */
function skopeo(args: string[], options: { home?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = requireTool("skopeo");
  const env = { ...process.env, HOME: options.home ?? work, XDG_RUNTIME_DIR: work, REGISTRY_AUTH_FILE: join(work, "no-auth.json") };
  return new Promise((resolve) => {
    execFile(bin, ["--insecure-policy", ...args], { encoding: "utf8", env }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("skopeo copies to the plain registry and reads the manifest back byte for byte", async () => {
  await using registry = await startRegistry();
  const copy = await skopeo(["copy", "--dest-tls-verify=false", `dir:${image}`, `docker://${registry.host}/plain/app:v1`]);
  expect(copy.stderr).toBe("");
  expect(copy.code).toBe(0);
  const raw = await skopeo(["inspect", "--raw", "--tls-verify=false", `docker://${registry.host}/plain/app:v1`]);
  expect(raw.stdout).toBe(manifest);
});

test("skopeo trusts the registry through certsDir and authenticates with the htpasswd user", async () => {
  await using registry = await startRegistry({ auth: "htpasswd", tls: true });
  const creds = `${registry.username}:${registry.password}`;
  const home = await homeWithCertsDir(registry.certsDir!);
  const copy = await skopeo(["copy", "--dest-creds", creds, `dir:${image}`, `docker://${registry.host}/secure/app:v1`], { home });
  expect(copy.stderr).toBe("");
  expect(copy.code).toBe(0);
  const raw = await skopeo(["inspect", "--raw", "--creds", creds, `docker://${registry.host}/secure/app:v1`], { home });
  expect(raw.stdout).toBe(manifest);
  const noCa = await skopeo(["inspect", "--raw", "--creds", creds, `docker://${registry.host}/secure/app:v1`]);
  expect(noCa.code).not.toBe(0);
  expect(noCa.stderr).toMatch(/certificate/i);
  const badCreds = await skopeo(["inspect", "--raw", "--cert-dir", join(registry.certsDir!, registry.host), "--creds", `${registry.username}:wrong`, `docker://${registry.host}/secure/app:v1`]);
  expect(badCreds.code).not.toBe(0);
  expect(badCreds.stderr).toMatch(/unauthorized|authentication required|invalid username\/password/i);
});

test("skopeo pushes through the token server over TLS; the read-only user may read but not push", async () => {
  await using registry = await startRegistry({ auth: "token", tls: true });
  const server = registry.tokenServer!;
  const home = await homeWithCertsDir(registry.certsDir!);
  const copy = await skopeo(["copy", "--dest-creds", `${registry.username}:${registry.password}`, `dir:${image}`, `docker://${registry.host}/tok/app:v1`], { home });
  expect(copy.stderr).toBe("");
  expect(copy.code).toBe(0);
  expect(server.requests.some((r) => r.method === "GET" && r.grant === "basic" && r.username === registry.username && r.granted.some((g) => g.name === "tok/app" && g.actions.includes("push")))).toBe(true);

  const ro = `${registry.readOnly!.username}:${registry.readOnly!.password}`;
  const raw = await skopeo(["inspect", "--raw", "--creds", ro, `docker://${registry.host}/tok/app:v1`], { home });
  expect(raw.stdout).toBe(manifest);
  const push = await skopeo(["copy", "--dest-creds", ro, `dir:${image}`, `docker://${registry.host}/tok/other:v1`], { home });
  expect(push.code).not.toBe(0);
  expect(push.stderr).toMatch(/denied|unauthorized|authentication required/i);
});

test("skopeo with an identity token in its auth file uses the OAuth2 refresh grant", async () => {
  await using registry = await startRegistry({ auth: "token" });
  const server = registry.tokenServer!;
  const authfile = join(work, "identity-auth.json");
  await writeFile(authfile, JSON.stringify({ auths: { [registry.host]: { auth: Buffer.from(`${registry.username}:`).toString("base64"), identitytoken: server.issueRefreshToken(registry.username!) } } }));
  const copy = await skopeo(["copy", "--dest-tls-verify=false", "--dest-authfile", authfile, `dir:${image}`, `docker://${registry.host}/identity/app:v1`]);
  expect(copy.stderr).toBe("");
  expect(copy.code).toBe(0);
  const grants = server.requests.filter((r) => r.status === 200);
  expect(grants.length).toBeGreaterThan(0);
  expect(grants.every((r) => r.method === "POST" && r.grant === "refresh_token" && r.username === registry.username)).toBe(true);
  expect(grants.map((r) => r.clientId)).toContain("containers/image");
});
