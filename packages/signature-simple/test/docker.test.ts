import { afterAll, describe, expect, test } from "vitest";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createGpgTestKeys, requireTool, type GpgTestKeys } from "@stevedore/testing";
import { gpgMechanismProvider } from "@stevedore/signature-gpg";
import { openpgpMechanismProvider } from "@stevedore/signature-openpgp";
import {
  createSimpleSigningPayload,
  signDockerManifest,
  untrustedSignatureInformation,
  verifyDockerManifestSignature,
} from "@stevedore/signature-simple";
import { signSchema1Payload } from "@stevedore/manifest-docker-schema1";
import { digestOf, InvalidReferenceError, SignatureInvalidError, UnauthorizedError, type SignatureMechanism } from "@stevedore/types";

const run = promisify(execFile);
const enc = new TextEncoder();

const MANIFEST = enc.encode(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"a".repeat(64)}`, size: 2 },
    layers: [],
  }),
);
const OTHER_MANIFEST = enc.encode(new TextDecoder().decode(MANIFEST).replace('"size":2', '"size":3'));
const REF = "quay.io/stevedore/test:1.0";

let keysPromise: Promise<GpgTestKeys> | undefined;
const keys = () => (keysPromise ??= createGpgTestKeys());
const toClose: SignatureMechanism[] = [];
afterAll(async () => {
  for (const m of toClose) await m.close();
  if (keysPromise) await (await keysPromise).cleanup();
});
const T = 60_000;

const backends = {
  openpgp: {
    signer: async (k: GpgTestKeys) => openpgpMechanismProvider.newMechanism({ keys: [k.rsa.secretKey, k.protected.secretKey] }),
    ephemeral: (blobs: Uint8Array[]) => openpgpMechanismProvider.newEphemeralMechanism(blobs),
  },
  gpg: {
    signer: async (k: GpgTestKeys) => gpgMechanismProvider.newMechanism({ homeDir: k.homeDir }),
    ephemeral: (blobs: Uint8Array[]) => gpgMechanismProvider.newEphemeralMechanism(blobs),
  },
};

for (const [name, b] of Object.entries(backends)) {
  describe(`signDockerManifest() / verifyDockerManifestSignature() with the ${name} mechanism`, () => {
    const setup = async () => {
      const k = await keys();
      const signer = await b.signer(k);
      const { mechanism: verifier } = await b.ephemeral([k.rsa.publicKey, k.protected.publicKey, k.unknown.publicKey]);
      toClose.push(signer, verifier);
      return { k, signer, verifier };
    };

    test(
      "a signature verifies for the same manifest, identity and key, and returns its claims",
      async () => {
        const { k, signer, verifier } = await setup();
        const sig = await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint);
        const v = await verifyDockerManifestSignature(sig, MANIFEST, REF, verifier, [k.rsa.fingerprint]);
        expect(v).toMatchObject({ dockerManifestDigest: digestOf(MANIFEST), dockerReference: REF, keyIdentity: k.rsa.fingerprint });
        expect(v.payload.creator).toMatch(/^Stevedore /);
      },
      T,
    );

    test(
      "a signed schema1 manifest is signed and verified by the digest of its JWS payload, whatever its JWS signatures",
      async () => {
        const { k, signer, verifier } = await setup();
        const payload = enc.encode(
          JSON.stringify(
            {
              schemaVersion: 1,
              name: "stevedore/test",
              tag: "1.0",
              architecture: "amd64",
              fsLayers: [{ blobSum: "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4" }],
              history: [{ v1Compatibility: JSON.stringify({ id: "a".repeat(64), created: "2020-01-01T00:00:00Z" }) }],
            },
            null,
            3,
          ),
        );
        const signedA = await signSchema1Payload(payload);
        const signedB = await signSchema1Payload(payload);
        expect(digestOf(signedA)).not.toBe(digestOf(signedB));
        const sig = await signDockerManifest(signedA, REF, signer, k.rsa.fingerprint);
        const v = await verifyDockerManifestSignature(sig, signedB, REF, verifier, [k.rsa.fingerprint]);
        expect(v.dockerManifestDigest).toBe(digestOf(payload));
      },
      T,
    );

    test(
      "a familiar reference in the signature matches its normalised form",
      async () => {
        const { k, signer, verifier } = await setup();
        const sig = await signDockerManifest(MANIFEST, "busybox:latest", signer, k.rsa.fingerprint);
        const v = await verifyDockerManifestSignature(sig, MANIFEST, "docker.io/library/busybox:latest", verifier, k.rsa.fingerprint);
        expect(v.dockerReference).toBe("busybox:latest");
      },
      T,
    );

    test(
      "a tampered manifest, another identity or an unexpected key is rejected with the reason",
      async () => {
        const { k, signer, verifier } = await setup();
        const sig = await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint);
        await expect(verifyDockerManifestSignature(sig, OTHER_MANIFEST, REF, verifier, [k.rsa.fingerprint])).rejects.toThrow(
          /manifest digest .* does not match the manifest/,
        );
        await expect(verifyDockerManifestSignature(sig, MANIFEST, "quay.io/stevedore/test:2.0", verifier, [k.rsa.fingerprint])).rejects.toThrow(
          /docker reference "quay.io\/stevedore\/test:1.0" does not match/,
        );
        await expect(verifyDockerManifestSignature(sig, MANIFEST, REF, verifier, [k.protected.fingerprint])).rejects.toThrow(
          new RegExp(`by key ${k.rsa.fingerprint} does not match the expected keys`),
        );
        // One at a time: a second promise made up front could reject before anything awaits it.
        for (const attempt of [
          () => verifyDockerManifestSignature(sig, OTHER_MANIFEST, REF, verifier, [k.rsa.fingerprint]),
          () => verifyDockerManifestSignature(sig, MANIFEST, REF, verifier, [k.protected.fingerprint]),
        ]) {
          await expect(attempt()).rejects.toBeInstanceOf(SignatureInvalidError);
        }
      },
      T,
    );

    test(
      "an invalid expected reference throws InvalidReferenceError before anything is verified",
      async () => {
        const { k, verifier } = await setup();
        await expect(verifyDockerManifestSignature(new Uint8Array(), MANIFEST, "Not/Valid", verifier, [k.rsa.fingerprint])).rejects.toBeInstanceOf(
          InvalidReferenceError,
        );
      },
      T,
    );

    test(
      "the cryptographic check comes first, then the key, then the payload",
      async () => {
        const { k, signer, verifier } = await setup();
        const badPayload = enc.encode('{"critical":{"type":"atomic container signature","image":{},"identity":{},"extra":1},"optional":{}}');
        // A malformed payload signed by a trusted, expected key: the payload is refused.
        const trusted = await signer.sign(badPayload, k.rsa.fingerprint);
        await expect(verifyDockerManifestSignature(trusted, MANIFEST, REF, verifier, [k.rsa.fingerprint])).rejects.toThrow(/invalid signature payload: unknown key "extra" in critical/);
        // The same payload by a key that is not expected: the key is refused before the payload is read.
        await expect(verifyDockerManifestSignature(trusted, MANIFEST, REF, verifier, [k.protected.fingerprint])).rejects.toThrow(/does not match the expected keys/);
        // The same payload, tampered: the crypto check refuses it first.
        const tampered = trusted.slice();
        tampered[tampered.length - 2] = (tampered[tampered.length - 2] ?? 0) ^ 1;
        await expect(verifyDockerManifestSignature(tampered, MANIFEST, REF, verifier, [k.rsa.fingerprint])).rejects.not.toThrow(/payload/);
      },
      T,
    );

    test(
      "a signature by a key the mechanism does not trust, or by an expired key, is rejected",
      async () => {
        const k = await keys();
        const { mechanism } = await b.ephemeral([k.rsa.publicKey, k.expired.publicKey]);
        toClose.push(mechanism);
        const payload = createSimpleSigningPayload({ dockerManifestDigest: digestOf(MANIFEST), dockerReference: REF });
        const byUnknown = await k.gpgSign(payload, k.unknown.fingerprint, { homeDir: k.otherHomeDir });
        await expect(verifyDockerManifestSignature(byUnknown, MANIFEST, REF, mechanism, [k.unknown.fingerprint])).rejects.toThrow(/unknown key ID/);
        const byExpired = await k.gpgSign(payload, k.expired.fingerprint, { fakedTime: "20200101T020000" });
        await expect(verifyDockerManifestSignature(byExpired, MANIFEST, REF, mechanism, [k.expired.fingerprint])).rejects.toThrow(/has expired/);
      },
      T,
    );

    test(
      "signing with a passphrase: the right one works, a wrong one or one with a line break does not",
      async () => {
        const { k, signer, verifier } = await setup();
        const pass = k.protected.passphrase ?? "";
        const sig = await signDockerManifest(MANIFEST, REF, signer, k.protected.fingerprint, { passphrase: pass });
        expect((await verifyDockerManifestSignature(sig, MANIFEST, REF, verifier, [k.protected.fingerprint])).keyIdentity).toBe(k.protected.fingerprint);
        await expect(signDockerManifest(MANIFEST, REF, signer, k.protected.fingerprint, { passphrase: "wrong" })).rejects.toBeInstanceOf(UnauthorizedError);
        await expect(signDockerManifest(MANIFEST, REF, signer, k.protected.fingerprint, { passphrase: `${pass}\n` })).rejects.toThrow(/line break/);
      },
      T,
    );

    test(
      "untrustedSignatureInformation() reads the claims and key ID without verifying",
      async () => {
        const { k, signer } = await setup();
        const sig = await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint, { timestamp: 1700000000, creator: "me" });
        const { mechanism } = await b.ephemeral([]);
        toClose.push(mechanism);
        expect(await untrustedSignatureInformation(sig, mechanism)).toEqual({
          untrustedDockerManifestDigest: digestOf(MANIFEST),
          untrustedDockerReference: REF,
          untrustedCreator: "me",
          untrustedTimestamp: new Date(1700000000 * 1000),
          untrustedShortKeyIdentifier: k.rsa.keyID,
        });
      },
      T,
    );
  });
}

describe("interoperability with skopeo", () => {
  test(
    "skopeo standalone-verify accepts our signatures, and we accept skopeo standalone-sign's",
    async () => {
      const skopeo = requireTool("skopeo");
      const k = await keys();
      const dir = await mkdtemp(join(tmpdir(), "stevedore-skopeo-sign-"));
      try {
        const manifestPath = join(dir, "manifest.json");
        await writeFile(manifestPath, MANIFEST);
        const env = { ...process.env, GNUPGHOME: k.homeDir };
        // Ours → skopeo, for both mechanisms.
        for (const b of Object.values(backends)) {
          const signer = await b.signer(k);
          toClose.push(signer);
          const sigPath = join(dir, "ours.sig");
          await writeFile(sigPath, await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint));
          const { stdout } = await run(skopeo, ["standalone-verify", manifestPath, REF, k.rsa.fingerprint, sigPath], { env });
          expect(stdout).toContain(`Signature verified, digest ${digestOf(MANIFEST)}`);
          const wrong = run(skopeo, ["standalone-verify", manifestPath, "quay.io/stevedore/test:9", k.rsa.fingerprint, sigPath], { env });
          await expect(wrong).rejects.toThrow();
        }
        // skopeo → ours.
        const theirs = join(dir, "theirs.sig");
        await run(skopeo, ["standalone-sign", manifestPath, REF, k.rsa.fingerprint, "-o", theirs], { env });
        const sig = new Uint8Array(await readFile(theirs));
        for (const b of Object.values(backends)) {
          const { mechanism } = await b.ephemeral([k.rsa.publicKey]);
          toClose.push(mechanism);
          const v = await verifyDockerManifestSignature(sig, MANIFEST, REF, mechanism, [k.rsa.fingerprint]);
          expect(v.keyIdentity).toBe(k.rsa.fingerprint);
          expect(v.payload.creator).toMatch(/^atomic /);
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
    T,
  );
});
