import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { createNodePolicyContext } from "@stevedore/policy/node";
import { parsePolicy, type UnparsedImage } from "@stevedore/policy";
import {
  SIGSTORE_PAYLOAD_MIME_TYPE,
  SIGSTORE_SIGNATURE_ANNOTATION,
  createSigstoreVerifier,
  decryptSigstoreEnvelope,
  encryptSigstoreEnvelope,
  generateSigstoreKeyPair,
  importSigstorePublicKey,
  loadSigstorePrivateKey,
  signSigstore,
  verifySigstoreSignature,
} from "@stevedore/signature-sigstore";
import { makeFixtureImage, requireTool, startRegistry, type FixtureImage } from "@stevedore/testing";
import { newDirReference } from "@stevedore/transport-dir";
import { decodeSignatureBlob, encodeSignatureBlob, streamOf, type BlobInfoCache, type ImageSource, type Signature, type SigstoreSignature } from "@stevedore/types";
import { b64, bytes, run, sigstoreSignature, tempDir, unb64 } from "./helpers.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function scratch(): Promise<string> {
  const t = await tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

const noCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** Writes `image` and `signatures` to a dir: layout with @stevedore/transport-dir. */
async function writeDir(path: string, image: FixtureImage, signatures: Signature[]): Promise<void> {
  const dest = await newDirReference(path).newImageDestination();
  try {
    for (const b of [image.config, ...image.layers]) {
      await dest.putBlob(streamOf(b.bytes), { digest: b.digest, size: b.size, mediaType: b.mediaType }, { cache: noCache, isConfig: b === image.config });
    }
    await dest.putManifest(image.manifest);
    await dest.putSignatures(signatures);
    await dest.commit();
  } finally {
    await dest.close();
  }
}

/** The manifest and signatures of a dir: layout, read with @stevedore/transport-dir. */
async function readDir(path: string): Promise<{ manifest: Uint8Array; signatures: Signature[] }> {
  const src = await newDirReference(path).newImageSource();
  try {
    return { manifest: (await src.getManifest()).bytes, signatures: await src.getSignatures() };
  } finally {
    await src.close();
  }
}

/** The policy's view of an image source. */
function unparsedInstance(src: ImageSource): UnparsedImage {
  return { reference: src.reference, manifest: (o) => src.getManifest(undefined, o), signatures: (o) => src.getSignatures(undefined, o) };
}

const PASS = "interop passphrase";
const IDENTITY = "example.com/stevedore/signed:1.0";

describe("OpenSSL cross-checks", () => {
  test("a signature made by signSigstore() verifies with `openssl dgst -sha256 -verify` and the generated public key", async () => {
    const dir = await scratch();
    const pair = await generateSigstoreKeyPair(PASS);
    const image = makeFixtureImage();
    const sig = await signSigstore(image.manifest, IDENTITY, pair.privateKeyPem, PASS);
    await writeFile(join(dir, "cosign.pub"), pair.publicKeyPem);
    await writeFile(join(dir, "payload"), sig.untrustedPayload);
    await writeFile(join(dir, "sig.der"), unb64(sig.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string));
    const ok = await run("openssl", ["dgst", "-sha256", "-verify", join(dir, "cosign.pub"), "-signature", join(dir, "sig.der"), join(dir, "payload")]);
    expect(ok.stdout.trim()).toBe("Verified OK");
    await writeFile(join(dir, "payload"), bytes(`${new TextDecoder().decode(sig.untrustedPayload)}\n`));
    await expect(run("openssl", ["dgst", "-sha256", "-verify", join(dir, "cosign.pub"), "-signature", join(dir, "sig.der"), join(dir, "payload")])).rejects.toThrow(
      /Verification failure/,
    );
  });

  for (const [what, genArgs, signArgs] of [
    ["ECDSA P-256", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], ["dgst", "-sha256", "-sign"]],
    ["ECDSA P-384", ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], ["dgst", "-sha256", "-sign"]],
    ["RSA 2048", ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], ["dgst", "-sha256", "-sign"]],
    ["Ed25519", ["-algorithm", "ED25519"], ["pkeyutl", "-sign", "-rawin", "-inkey"]],
  ] as const) {
    test(`an OpenSSL ${what} key: OpenSSL's signature verifies here, and ours (after wrapping the key in cosign's format) verifies in OpenSSL`, async () => {
      const dir = await scratch();
      const key = join(dir, "key.pem");
      await run("openssl", ["genpkey", ...genArgs, "-out", key]);
      await run("openssl", ["pkey", "-in", key, "-pubout", "-out", join(dir, "pub.pem")]);
      await run("openssl", ["pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER", "-out", join(dir, "key.der")]);
      const payload = join(dir, "payload");
      await writeFile(payload, bytes('{"critical":{},"optional":null}'));
      const signTail = signArgs[0] === "pkeyutl" ? [key, "-in", payload, "-out", join(dir, "openssl.sig")] : [key, "-out", join(dir, "openssl.sig"), payload];
      await run("openssl", [...signArgs, ...signTail]);
      const pub = await importSigstorePublicKey(await readFile(join(dir, "pub.pem")), "pub.pem");
      expect(await pub.verify(new Uint8Array(await readFile(join(dir, "openssl.sig"))), new Uint8Array(await readFile(payload)))).toBe(true);

      const cosignKey = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n${(b64(await encryptSigstoreEnvelope(new Uint8Array(await readFile(join(dir, "key.der"))), "pw")).match(/.{1,64}/g) ?? []).join("\n")}\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n`;
      const ours = await loadSigstorePrivateKey(cosignKey, "pw");
      await writeFile(join(dir, "ours.sig"), await ours.sign(new Uint8Array(await readFile(payload))));
      const verifyArgs =
        signArgs[0] === "pkeyutl"
          ? ["pkeyutl", "-verify", "-rawin", "-pubin", "-inkey", join(dir, "pub.pem"), "-in", payload, "-sigfile", join(dir, "ours.sig")]
          : ["dgst", "-sha256", "-verify", join(dir, "pub.pem"), "-signature", join(dir, "ours.sig"), payload];
      const out = await run("openssl", verifyArgs);
      expect(out.stdout).toMatch(/Verified OK|Signature Verified Successfully/);
    });
  }

  test("OpenSSL reads the public key and the decrypted PKCS #8 private key of generateSigstoreKeyPair() as one P-256 key pair", async () => {
    const dir = await scratch();
    const pair = await generateSigstoreKeyPair(PASS);
    await writeFile(join(dir, "cosign.pub"), pair.publicKeyPem);
    expect((await run("openssl", ["pkey", "-pubin", "-in", join(dir, "cosign.pub"), "-noout", "-text"])).stdout).toMatch(/ASN1 OID: prime256v1/);
    const envelope = unb64(pair.privateKeyPem.split("\n").filter((l) => l !== "" && !l.startsWith("-----")).join(""));
    await writeFile(join(dir, "key.der"), await decryptSigstoreEnvelope(envelope, PASS));
    expect((await run("openssl", ["pkey", "-inform", "DER", "-in", join(dir, "key.der"), "-noout", "-text"])).stdout).toMatch(/Private-Key: \(256 bit/);
    const derived = (await run("openssl", ["pkey", "-inform", "DER", "-in", join(dir, "key.der"), "-pubout"])).stdout;
    expect(derived).toBe(pair.publicKeyPem);
  });
});

describe("skopeo interoperability", () => {
  test("skopeo copies a dir: image signed by signSigstore() to another dir: keeping the sigstore signature byte for byte, and the policy accepts it", async () => {
    requireTool("skopeo");
    const dir = await scratch();
    const pair = await generateSigstoreKeyPair(PASS);
    const image = makeFixtureImage();
    const sig = await signSigstore(image.manifest, IDENTITY, pair.privateKeyPem, PASS);
    await writeDir(join(dir, "signed"), image, [sig]);
    expect(await readFile(join(dir, "signed", "signature-1"))).toEqual(Buffer.from(encodeSignatureBlob(sig)));
    await run("skopeo", ["--insecure-policy", "copy", `dir:${join(dir, "signed")}`, `dir:${join(dir, "copied")}`]);
    expect(await readFile(join(dir, "copied", "signature-1"))).toEqual(await readFile(join(dir, "signed", "signature-1")));

    await writeFile(join(dir, "cosign.pub"), pair.publicKeyPem);
    await writeFile(
      join(dir, "policy.json"),
      JSON.stringify({
        default: [{ type: "reject" }],
        transports: { dir: { "": [{ type: "sigstoreSigned", keyPath: join(dir, "cosign.pub"), signedIdentity: { type: "exactReference", dockerReference: IDENTITY } }] } },
      }),
    );
    const policy = parsePolicy(await readFile(join(dir, "policy.json")));
    const ctx = createNodePolicyContext(policy, { sigstoreVerifier: createSigstoreVerifier() });
    const src = await newDirReference(join(dir, "copied")).newImageSource();
    try {
      await expect(ctx.isRunningImageAllowed(unparsedInstance(src))).resolves.toBe(true);
    } finally {
      await src.close();
    }

    // A tampered signature in the copy is rejected.
    const blob = decodeSignatureBlob(new Uint8Array(await readFile(join(dir, "copied", "signature-1")))) as SigstoreSignature;
    const raw = unb64(blob.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string);
    raw[raw.length - 2] = (raw[raw.length - 2] as number) ^ 0x10;
    await writeFile(join(dir, "copied", "signature-1"), encodeSignatureBlob({ ...blob, untrustedAnnotations: { [SIGSTORE_SIGNATURE_ANNOTATION]: b64(raw) } }));
    const src2 = await newDirReference(join(dir, "copied")).newImageSource();
    try {
      await expect(ctx.isRunningImageAllowed(unparsedInstance(src2))).rejects.toThrow(/cryptographic signature verification failed/);
    } finally {
      await src2.close();
    }
  });

  test("skopeo stores our signature in a real registry as a cosign attachment (sha256-<hex>.sig) and reads it back intact", async () => {
    requireTool("skopeo");
    const dir = await scratch();
    const registry = await startRegistry();
    cleanups.push(() => registry.stop());
    const pair = await generateSigstoreKeyPair(PASS);
    const image = makeFixtureImage();
    const identity = `${registry.host}/stevedore/signed:1.0`;
    const sig = await signSigstore(image.manifest, identity, pair.privateKeyPem, PASS);
    await writeDir(join(dir, "signed"), image, [sig]);
    const regd = join(dir, "registries.d");
    await mkdir(regd);
    await writeFile(join(regd, "default.yaml"), "default-docker:\n  use-sigstore-attachments: true\n");
    const common = ["--insecure-policy", "--registries.d", regd];
    await run("skopeo", [...common, "copy", "--dest-tls-verify=false", `dir:${join(dir, "signed")}`, `docker://${identity}`]);

    // The attachment is where cosign looks for it: a manifest tagged sha256-<hex>.sig whose layer is our payload with our annotation.
    const tag = `${image.digest.replace(":", "-")}.sig`;
    const res = await fetch(`http://${registry.host}/v2/stevedore/signed/manifests/${tag}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
    expect(res.status).toBe(200);
    const attachment = (await res.json()) as { layers: { mediaType: string; digest: string; annotations: Record<string, string> }[] };
    expect(attachment.layers).toHaveLength(1);
    expect(attachment.layers[0]?.mediaType).toBe(SIGSTORE_PAYLOAD_MIME_TYPE);
    expect(attachment.layers[0]?.annotations[SIGSTORE_SIGNATURE_ANNOTATION]).toBe(sig.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION]);
    const payload = new Uint8Array(await (await fetch(`http://${registry.host}/v2/stevedore/signed/blobs/${attachment.layers[0]?.digest}`)).arrayBuffer());
    expect(payload).toEqual(sig.untrustedPayload);

    // A cosign attachment as a registry holds it verifies with our key.
    const fromRegistry = sigstoreSignature(payload, attachment.layers[0]?.annotations[SIGSTORE_SIGNATURE_ANNOTATION] as string);
    const v = await verifySigstoreSignature(fromRegistry, [await importSigstorePublicKey(pair.publicKeyPem)]);
    expect(v.dockerReference).toBe(identity);
    expect(v.dockerManifestDigest).toBe(image.digest);

    // And skopeo brings it back into a dir: unchanged.
    await run("skopeo", [...common, "copy", "--src-tls-verify=false", `docker://${identity}`, `dir:${join(dir, "back")}`]);
    const back = await readDir(join(dir, "back"));
    expect(back.manifest).toEqual(image.manifest);
    expect(back.signatures).toHaveLength(1);
    expect(await verifySigstoreSignature(back.signatures[0] as SigstoreSignature, [await importSigstorePublicKey(pair.publicKeyPem)])).toMatchObject({
      dockerReference: identity,
      dockerManifestDigest: image.digest,
    });
  });
});
