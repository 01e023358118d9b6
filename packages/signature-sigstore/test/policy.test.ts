import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { createPolicyContext, parsePolicy, type SigstoreVerifier, type UnparsedImage } from "@stevedore/policy";
import { createNodePolicyContext } from "@stevedore/policy/node";
import {
  createSigstoreVerifier,
  generateSigstoreKeyPair,
  signSigstore,
  type SigstoreKeyPair,
} from "@stevedore/signature-sigstore";
import { makeFixtureImage } from "@stevedore/testing";
import { dirTransport } from "@stevedore/transport-dir";
import type { ImageReference, Signature } from "@stevedore/types";
import { COSIGN_IMAGE_SIGNATURE } from "./fixtures.js";
import { b64, bytes, sigstoreSignature, tempDir, unb64 } from "./helpers.js";

// The verifier has the shape @stevedore/policy expects (checked by the test typecheck).
const typed: SigstoreVerifier = createSigstoreVerifier();

const PASS = "pw";
let pair: SigstoreKeyPair;
let other: SigstoreKeyPair;
beforeAll(async () => {
  [pair, other] = await Promise.all([generateSigstoreKeyPair(PASS), generateSigstoreKeyPair(PASS)]);
});

const image = makeFixtureImage();
let ref: ImageReference;
let removeImageDir: () => Promise<void>;
beforeAll(async () => {
  const t = await tempDir();
  removeImageDir = t.cleanup;
  ref = dirTransport.parseReference(t.dir);
});
afterAll(async () => {
  await removeImageDir();
});

function unparsed(manifest: Uint8Array, signatures: Signature[]): UnparsedImage {
  return { reference: ref, manifest: async () => ({ bytes: manifest, mimeType: "application/vnd.oci.image.manifest.v1+json" }), signatures: async () => signatures };
}

function policyWith(requirement: Record<string, unknown>) {
  return parsePolicy(JSON.stringify({ default: [{ type: "reject" }], transports: { dir: { "": [requirement] } } }));
}

const exact = (dockerReference: string) => ({ type: "exactReference", dockerReference });

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

describe("sigstoreSigned through @stevedore/policy", () => {
  test("a policy with keyData accepts an image signed by that key for that identity", async () => {
    const sig = await signSigstore(image.manifest, "example.com/app:1", pair.privateKeyPem, PASS);
    const ctx = createPolicyContext(policyWith({ type: "sigstoreSigned", keyData: b64(bytes(pair.publicKeyPem)), signedIdentity: exact("example.com/app:1") }), {
      sigstoreVerifier: typed,
    });
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [sig]))).resolves.toBe(true);
  });

  test("a policy with keyPath (read by @stevedore/policy/node) accepts the signature; keyPaths accepts one of several keys", async () => {
    const t = await tempDir();
    cleanups.push(t.cleanup);
    await writeFile(join(t.dir, "cosign.pub"), pair.publicKeyPem);
    await writeFile(join(t.dir, "other.pub"), other.publicKeyPem);
    const sig = await signSigstore(image.manifest, "example.com/app:1", pair.privateKeyPem, PASS);
    const one = createNodePolicyContext(policyWith({ type: "sigstoreSigned", keyPath: join(t.dir, "cosign.pub"), signedIdentity: exact("example.com/app:1") }), {
      sigstoreVerifier: createSigstoreVerifier(),
    });
    await expect(one.isRunningImageAllowed(unparsed(image.manifest, [sig]))).resolves.toBe(true);
    const several = createNodePolicyContext(
      policyWith({ type: "sigstoreSigned", keyPaths: [join(t.dir, "other.pub"), join(t.dir, "cosign.pub")], signedIdentity: exact("example.com/app:1") }),
      { sigstoreVerifier: createSigstoreVerifier() },
    );
    await expect(several.isRunningImageAllowed(unparsed(image.manifest, [sig]))).resolves.toBe(true);
    const wrong = createNodePolicyContext(policyWith({ type: "sigstoreSigned", keyPath: join(t.dir, "other.pub"), signedIdentity: exact("example.com/app:1") }), {
      sigstoreVerifier: createSigstoreVerifier(),
    });
    await expect(wrong.isRunningImageAllowed(unparsed(image.manifest, [sig]))).rejects.toThrow(/cryptographic signature verification failed/);
  });

  test("the policy rejects a signature for another manifest, another identity, a tampered payload or a tampered signature", async () => {
    const ctx = createPolicyContext(policyWith({ type: "sigstoreSigned", keyData: b64(bytes(pair.publicKeyPem)), signedIdentity: exact("example.com/app:1") }), {
      sigstoreVerifier: createSigstoreVerifier(),
    });
    const good = await signSigstore(image.manifest, "example.com/app:1", pair.privateKeyPem, PASS);
    const otherImage = makeFixtureImage();
    await expect(ctx.isRunningImageAllowed(unparsed(otherImage.manifest, [good]))).rejects.toThrow(/Signature for digest .* does not match the manifest/);
    const otherIdentity = await signSigstore(image.manifest, "example.com/app:2", pair.privateKeyPem, PASS);
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [otherIdentity]))).rejects.toThrow(/Signature for identity "example.com\/app:2" is not accepted/);
    const payload = new TextDecoder().decode(good.untrustedPayload).replace(image.digest, otherImage.digest);
    await expect(ctx.isRunningImageAllowed(unparsed(otherImage.manifest, [{ ...good, untrustedPayload: bytes(payload) }]))).rejects.toThrow(
      /cryptographic signature verification failed/,
    );
    const raw = unb64(good.untrustedAnnotations["dev.cosignproject.cosign/signature"] as string);
    raw[10] = (raw[10] as number) ^ 4;
    const tampered = { ...good, untrustedAnnotations: { "dev.cosignproject.cosign/signature": b64(raw) } };
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [tampered]))).rejects.toThrow(/cryptographic signature verification failed/);
    // One good signature among bad ones is enough.
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [tampered, otherIdentity, good]))).resolves.toBe(true);
  });

  test("the policy rejects an image without a signature annotation with the reason", async () => {
    const ctx = createPolicyContext(policyWith({ type: "sigstoreSigned", keyData: b64(bytes(pair.publicKeyPem)), signedIdentity: exact("example.com/app:1") }), {
      sigstoreVerifier: createSigstoreVerifier(),
    });
    const good = await signSigstore(image.manifest, "example.com/app:1", pair.privateKeyPem, PASS);
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [{ ...good, untrustedAnnotations: {} }]))).rejects.toThrow(
      /missing dev.cosignproject.cosign\/signature annotation/,
    );
  });

  test("the policy reports a malformed key file as the reason of the rejection", async () => {
    const ctx = createPolicyContext(policyWith({ type: "sigstoreSigned", keyData: b64(bytes("not a key")), signedIdentity: exact("example.com/app:1") }), {
      sigstoreVerifier: createSigstoreVerifier(),
    });
    const good = await signSigstore(image.manifest, "example.com/app:1", pair.privateKeyPem, PASS);
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [good]))).rejects.toThrow(/no PEM block/);
  });

  test("the policy verifies a real cosign signature, then rejects it because it names another manifest", async () => {
    const c = COSIGN_IMAGE_SIGNATURE;
    // The manifest of that image is not available: the signature passes the crypto and payload checks, and the digest
    // check must be the reason of the rejection.
    const ctx = createPolicyContext(policyWith({ type: "sigstoreSigned", keyData: b64(bytes(c.publicKey)), signedIdentity: { type: "exactRepository", dockerRepository: c.dockerReference } }), {
      sigstoreVerifier: createSigstoreVerifier(),
    });
    const sig = sigstoreSignature(unb64(c.payloadBase64), c.signature);
    await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [sig]))).rejects.toThrow(`Signature for digest ${c.digest} does not match the manifest`);
  });

  for (const [what, extra] of [
    ["fulcio", { fulcio: { caData: b64(bytes("ca")), oidcIssuer: "https://issuer.example", subjectEmail: "a@example.com" }, rekorPublicKeyData: b64(bytes("k")) }],
    ["rekor", { keyData: "KEY", rekorPublicKeyData: b64(bytes("k")) }],
    ["pki", { pki: { caRootsData: b64(bytes("ca")), subjectEmail: "a@example.com" } }],
  ] as const) {
    test(`a sigstoreSigned requirement with ${what} is refused as not supported`, async () => {
      const req: Record<string, unknown> = { type: "sigstoreSigned", signedIdentity: { type: "matchRepoDigestOrExact" }, ...extra };
      if (req.keyData === "KEY") req.keyData = b64(bytes(pair.publicKeyPem));
      const ctx = createPolicyContext(policyWith(req), { sigstoreVerifier: createSigstoreVerifier() });
      const good = await signSigstore(image.manifest, "example.com/app:1", pair.privateKeyPem, PASS);
      await expect(ctx.isRunningImageAllowed(unparsed(image.manifest, [good]))).rejects.toThrow(new RegExp(`sigstoreSigned with (.*, )?${what}(, .*)? is not supported`));
    });
  }
});
