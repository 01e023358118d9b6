// Signature interoperability with the real skopeo (containers/image 5.23) through registries.d: lookaside and sigstore attachments.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createMemoryCache } from "@stevedore/blobinfocache-memory";
import { gpgMechanismProvider } from "@stevedore/signature-gpg";
import { signDockerManifest, verifyDockerManifestSignature } from "@stevedore/signature-simple";
import { generateSigstoreKeyPair, importSigstorePublicKey, signSigstore, verifySigstoreSignature } from "@stevedore/signature-sigstore";
import { makeFixtureImage, startRegistry, type FixtureImage, type RegistryHandle } from "@stevedore/testing";
import { dockerTransport } from "@stevedore/transport-docker";
import { decodeSignatureBlob, digestHex, encodeSignatureBlob, type Signature, type SystemContext } from "@stevedore/types";
import { chunks, isolatedContext, makeGpgSigningKey, skopeoWith, writeDirImage, type GpgSigningKey } from "./helpers.js";

let registry: RegistryHandle;
let work: string;
let base: SystemContext;
let cleanup: () => Promise<void>;
let key: GpgSigningKey;

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "stevedore-docker-sig-skopeo-"));
  ({ ctx: base, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true }));
  key = await makeGpgSigningKey();
}, 120_000);
afterAll(async () => {
  await registry?.stop();
  await cleanup?.();
  await key?.cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

const unique = (prefix: string) => `${prefix}/r${randomBytes(4).toString("hex")}`;
/** A new file name in the work directory. */
const fresh = (prefix: string) => join(work, `${prefix}-${randomBytes(4).toString("hex")}`);

/** A registries.d directory (for skopeo's --registries.d and our ctx) with a file lookaside, and the context using it. */
async function registriesD(extra = ""): Promise<{ dDir: string; store: string; ctx: SystemContext }> {
  const dDir = await mkdtemp(join(work, "registries.d-"));
  const store = await mkdtemp(join(work, "lookaside-"));
  await writeFile(join(dDir, "default.yaml"), `default-docker:\n  lookaside: file://${store}\n${extra}`);
  return { dDir, store, ctx: { ...base, registriesDirPath: dDir } };
}

async function signaturesOf(text: string, ctx: SystemContext): Promise<{ sigs: Signature[]; manifest: Uint8Array }> {
  const src = await dockerTransport.parseReference(text).newImageSource(ctx);
  try {
    return { sigs: await src.getSignatures(), manifest: (await src.getManifest()).bytes };
  } finally {
    await src.close();
  }
}

/** Pushes `img` with our destination and stores `sigs` before the commit. */
async function push(text: string, ctx: SystemContext, img: FixtureImage, sigs: readonly Signature[]): Promise<void> {
  const dest = await dockerTransport.parseReference(text).newImageDestination(ctx);
  try {
    const cache = createMemoryCache();
    for (const [digest, bytes] of img.blobs) await dest.putBlob(chunks(bytes), { digest, size: bytes.length }, { cache });
    await dest.putManifest(img.manifest);
    await dest.putSignatures(sigs);
    await dest.commit();
  } finally {
    await dest.close();
  }
}

async function dirSignatures(path: string): Promise<Uint8Array[]> {
  const names = (await readdir(path)).filter((n) => /^signature-\d+$/.test(n)).sort();
  return Promise.all(names.map(async (n) => new Uint8Array(await readFile(join(path, n)))));
}

describe("simple signing through the lookaside", () => {
  test("skopeo copy --sign-by writes a signature to the file: lookaside that our source reads and gpg verifies", async () => {
    const { dDir, store, ctx } = await registriesD();
    const img = makeFixtureImage();
    const src = fresh("dir-src");
    await writeDirImage(src, img);
    const repo = unique("skopeo/signed");
    const target = `${registry.host}/${repo}:v1`;
    const r = await skopeoWith(
      ["--insecure-policy", "copy", "--dest-tls-verify=false", "--registries.d", dDir, "--sign-by", key.fingerprint, `dir:${src}`, `docker://${target}`],
      work,
      { GNUPGHOME: key.home },
    );
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(await readdir(join(store, `${repo}@sha256=${digestHex(img.digest)}`))).toEqual(["signature-1"]);

    const { sigs, manifest } = await signaturesOf(`//${target}`, ctx);
    expect(sigs).toHaveLength(1);
    const sig = sigs[0]!;
    if (sig.format !== "simple-signing") throw new Error(`expected a simple-signing signature, got ${sig.format}`);
    const { mechanism, keyIdentities } = await gpgMechanismProvider.newEphemeralMechanism([key.publicKey]);
    try {
      expect(keyIdentities).toEqual([key.fingerprint]);
      const verified = await verifyDockerManifestSignature(sig.untrustedSignature, manifest, target, mechanism, key.fingerprint);
      expect(verified.dockerManifestDigest).toBe(img.digest);
      expect(verified.dockerReference).toBe(target);
    } finally {
      await mechanism.close();
    }
  });

  test("an image we push with a simple signature passes skopeo's signedBy policy, and is rejected once the signature is tampered with", async () => {
    const { dDir, store } = await registriesD();
    const img = makeFixtureImage();
    const repo = unique("ours/signed");
    const target = `${registry.host}/${repo}:v1`;
    const mechanism = await gpgMechanismProvider.newMechanism({ homeDir: key.home });
    let signature: Uint8Array;
    try {
      signature = await signDockerManifest(img.manifest, target, mechanism, key.fingerprint);
    } finally {
      await mechanism.close();
    }
    await push(`//${target}`, { ...base, registriesDirPath: dDir }, img, [{ format: "simple-signing", untrustedSignature: signature }]);

    const keyFile = `${fresh("key")}.asc`;
    await writeFile(keyFile, key.publicKey);
    const policy = `${fresh("policy")}.json`;
    await writeFile(
      policy,
      JSON.stringify({ default: [{ type: "reject" }], transports: { docker: { [`${registry.host}/${repo}`]: [{ type: "signedBy", keyType: "GPGKeys", keyPath: keyFile }] } } }),
    );
    const out = fresh("accepted");
    const ok = await skopeoWith(["copy", "--policy", policy, "--registries.d", dDir, "--src-tls-verify=false", `docker://${target}`, `dir:${out}`], work);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    expect(await dirSignatures(out)).toEqual([signature]);

    const file = join(store, `${repo}@sha256=${digestHex(img.digest)}`, "signature-1");
    const tampered = new Uint8Array(await readFile(file));
    tampered[tampered.length - 10] = tampered[tampered.length - 10]! ^ 0xff;
    await writeFile(file, tampered);
    const refused = await skopeoWith(
      ["copy", "--policy", policy, "--registries.d", dDir, "--src-tls-verify=false", `docker://${target}`, `dir:${fresh("refused")}`],
      work,
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("Source image rejected");
  });
});

describe("sigstore attachments", () => {
  let keys: { privateKeyPem: string; publicKeyPem: string };
  beforeAll(async () => {
    keys = await generateSigstoreKeyPair("pass");
  });

  test("an attachment we write is copied by skopeo to dir: as a signature that decodes to the same signature", async () => {
    const { dDir, ctx } = await registriesD("  use-sigstore-attachments: true\n");
    const img = makeFixtureImage();
    const repo = unique("ours/sigstore");
    const target = `${registry.host}/${repo}:v1`;
    const sig = await signSigstore(img.manifest, target, keys.privateKeyPem, "pass");
    await push(`//${target}`, ctx, img, [sig]);

    const out = fresh("sigstore-out");
    const r = await skopeoWith(["--insecure-policy", "copy", "--registries.d", dDir, "--src-tls-verify=false", `docker://${target}`, `dir:${out}`], work);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const blobs = await dirSignatures(out);
    expect(blobs).toHaveLength(1);
    expect(decodeSignatureBlob(blobs[0]!)).toEqual(sig);
  });

  test("an attachment skopeo writes from a dir: holding a sigstore signature is read back by our source unchanged, and verifies", async () => {
    const { dDir, ctx } = await registriesD("  use-sigstore-attachments: true\n");
    const img = makeFixtureImage();
    const repo = unique("skopeo/sigstore");
    const target = `${registry.host}/${repo}:v1`;
    const sig = await signSigstore(img.manifest, target, keys.privateKeyPem, "pass");
    const src = fresh("sigstore-src");
    await writeDirImage(src, img, [encodeSignatureBlob(sig)]);
    const r = await skopeoWith(["--insecure-policy", "copy", "--registries.d", dDir, "--dest-tls-verify=false", `dir:${src}`, `docker://${target}`], work);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);

    const { sigs, manifest } = await signaturesOf(`//${target}`, ctx);
    expect(manifest).toEqual(img.manifest);
    expect(sigs).toEqual([sig]);
    const first = sigs[0]!;
    if (first.format !== "sigstore-json") throw new Error(`expected a sigstore signature, got ${first.format}`);
    const verified = await verifySigstoreSignature(first, [await importSigstorePublicKey(keys.publicKeyPem)]);
    expect(verified.dockerManifestDigest).toBe(img.digest);
  });
});
