// End to end through @stevedore/copy: signing while pushing to docker://, carrying signatures to dir:, and a signedBy policy.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { copyImage, type Signer } from "@stevedore/copy";
import { createPolicyContext, parsePolicy } from "@stevedore/policy";
import { gpgMechanismProvider } from "@stevedore/signature-gpg";
import { openpgpMechanismProvider } from "@stevedore/signature-openpgp";
import { signDockerManifest, verifyDockerManifestSignature } from "@stevedore/signature-simple";
import { makeFixtureImage, startRegistry, type RegistryHandle } from "@stevedore/testing";
import { dockerTransport } from "@stevedore/transport-docker";
import { dirTransport } from "@stevedore/transport-dir";
import { digestHex, PolicyRejectedError, type SignatureMechanism, type SystemContext } from "@stevedore/types";
import { isolatedContext, makeGpgSigningKey, rawPushImage, type GpgSigningKey } from "./helpers.js";

let registry: RegistryHandle;
let work: string;
let ctx: SystemContext;
let store: string;
let cleanup: () => Promise<void>;
let key: GpgSigningKey;
let mechanism: SignatureMechanism;

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), "stevedore-docker-sig-copy-"));
  let base: SystemContext;
  ({ ctx: base, cleanup } = await isolatedContext({ dockerInsecureSkipTLSVerify: true }));
  const dDir = join(work, "registries.d");
  store = join(work, "lookaside");
  await mkdir(dDir);
  await writeFile(join(dDir, "sigs.yaml"), `docker:\n  ${registry.host}:\n    lookaside: file://${store}\n`);
  ctx = { ...base, registriesDirPath: dDir };
  key = await makeGpgSigningKey();
  mechanism = await gpgMechanismProvider.newMechanism({ homeDir: key.home });
}, 120_000);
afterAll(async () => {
  await mechanism?.close();
  await key?.cleanup();
  await registry?.stop();
  await cleanup?.();
  if (work) await rm(work, { recursive: true, force: true });
});

const repo = (p: string) => `${p}/r${randomBytes(4).toString("hex")}`;

test("copyImage() with a signer pushes to docker://, the signature lands in the lookaside, travels to dir:, and a signedBy policy accepts it", async () => {
  const img = makeFixtureImage({ format: "oci" });
  const srcRepo = repo("copy/src");
  await rawPushImage(registry.url, srcRepo, "v1", img);
  const dstRepo = repo("copy/signed");
  const dstText = `${registry.host}/${dstRepo}:v1`;
  const signer: Signer = {
    description: `gpg key ${key.fingerprint}`,
    sign: async (manifest, identity) => ({ format: "simple-signing", untrustedSignature: await signDockerManifest(manifest, identity, mechanism, key.fingerprint) }),
  };
  const srcRef = dockerTransport.parseReference(`//${registry.host}/${srcRepo}:v1`);
  const dstRef = dockerTransport.parseReference(`//${dstText}`);
  await copyImage(undefined, dstRef, srcRef, { sourceCtx: ctx, destinationCtx: ctx, signers: [signer] });

  // the signature is in the lookaside, for the digest written, claiming the destination
  const sigDir = join(store, `${dstRepo}@sha256=${digestHex(img.digest)}`);
  expect(await readdir(sigDir)).toEqual(["signature-1"]);
  const stored = new Uint8Array(await readFile(join(sigDir, "signature-1")));
  const verified = await verifyDockerManifestSignature(stored, img.manifest, dstText, mechanism, key.fingerprint);
  expect(verified.dockerManifestDigest).toBe(img.digest);

  // docker:// -> dir: carries it
  const out = join(work, "out");
  await copyImage(undefined, dirTransport.parseReference(out), dstRef, { sourceCtx: ctx });
  expect(new Uint8Array(await readFile(join(out, "signature-1")))).toEqual(stored);

  // a signedBy policy for the registry accepts the signed image and refuses the unsigned source
  const policyText = JSON.stringify({
    default: [{ type: "reject" }],
    transports: {
      docker: { [registry.host]: [{ type: "signedBy", keyType: "GPGKeys", keyData: Buffer.from(key.publicKey).toString("base64") }] },
      dir: { "": [{ type: "insecureAcceptAnything" }] },
    },
  });
  const policy = createPolicyContext(parsePolicy(policyText), { mechanismProvider: openpgpMechanismProvider });
  try {
    const checked = join(work, "checked");
    await copyImage(policy, dirTransport.parseReference(checked), dstRef, { sourceCtx: ctx });
    expect(new Uint8Array(await readFile(join(checked, "signature-1")))).toEqual(stored);
    await expect(copyImage(policy, dirTransport.parseReference(join(work, "refused")), srcRef, { sourceCtx: ctx })).rejects.toBeInstanceOf(PolicyRejectedError);
  } finally {
    await policy.close();
  }
});
