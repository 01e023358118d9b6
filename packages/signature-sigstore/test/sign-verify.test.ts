import { beforeAll, describe, expect, test } from "vitest";
import { manifestDigest } from "@stevedore/manifest";
import { parseNormalizedNamed } from "@stevedore/reference";
import {
  SIGSTORE_PAYLOAD_MIME_TYPE,
  SIGSTORE_SIGNATURE_ANNOTATION,
  createSigstoreSigner,
  createSigstoreVerifier,
  generateSigstoreKeyPair,
  importSigstorePublicKey,
  loadSigstorePrivateKey,
  parseSigstorePayload,
  signSigstore,
  signSigstoreWithKey,
  verifySigstoreSignature,
  type SigstoreKeyPair,
  type SigstorePublicKey,
} from "@stevedore/signature-sigstore";
import { makeFixtureImage } from "@stevedore/testing";
import { AbortError, InvalidConfigurationError, SignatureInvalidError, UnauthorizedError, type SigstoreSignature } from "@stevedore/types";
import {
  CONTAINERS_IMAGE_COSIGN_PUB,
  CONTAINERS_IMAGE_SIGNED_EMPTY_OBJECT,
  CONTAINERS_IMAGE_SIGNED_NON_JSON,
  COSIGN_IMAGE_SIGNATURE,
  COSIGN_SIGSTORE_KEY,
  COSIGN_TEST_PASSPHRASE,
} from "./fixtures.js";
import { b64, bytes, sigstoreSignature, text, unb64, withAnnotations } from "./helpers.js";

const PASS = "correct horse";
let pair: SigstoreKeyPair;
let other: SigstoreKeyPair;
let pub: SigstorePublicKey;
let otherPub: SigstorePublicKey;
const image = makeFixtureImage();

beforeAll(async () => {
  [pair, other] = await Promise.all([generateSigstoreKeyPair(PASS), generateSigstoreKeyPair("other")]);
  pub = await importSigstorePublicKey(pair.publicKeyPem);
  otherPub = await importSigstorePublicKey(other.publicKeyPem);
});

describe("signSigstore", () => {
  test("signSigstore() makes a sigstore-json signature of the manifest digest for the normalised reference", async () => {
    const sig = await signSigstore(image.manifest, "busybox:1.36", pair.privateKeyPem, PASS, { creator: "test", timestamp: 1700000000 });
    expect(sig.format).toBe("sigstore-json");
    expect(sig.untrustedMIMEType).toBe(SIGSTORE_PAYLOAD_MIME_TYPE);
    expect(Object.keys(sig.untrustedAnnotations)).toEqual([SIGSTORE_SIGNATURE_ANNOTATION]);
    expect(text(sig.untrustedPayload)).toBe(
      `{"critical":{"identity":{"docker-reference":"docker.io/library/busybox:1.36"},"image":{"docker-manifest-digest":"${image.digest}"},"type":"cosign container image signature"},"optional":{"creator":"test","timestamp":1700000000}}`,
    );
    // The annotation is base64 of an ASN.1 DER ECDSA signature (SEQUENCE of two INTEGERs).
    const der = unb64(sig.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string);
    expect(der[0]).toBe(0x30);
    expect(der[2]).toBe(0x02);
    expect(await pub.verify(der, sig.untrustedPayload)).toBe(true);
  });

  test("signSigstore() accepts a DockerReference and signs its full form", async () => {
    const sig = await signSigstore(image.manifest, parseNormalizedNamed("quay.io/org/app@" + image.digest), pair.privateKeyPem, PASS);
    expect(parseSigstorePayload(sig.untrustedPayload).dockerReference).toBe(`quay.io/org/app@${image.digest}`);
  });

  test("signSigstore() with a wrong passphrase throws UnauthorizedError", async () => {
    await expect(signSigstore(image.manifest, "example.com/a:b", pair.privateKeyPem, "wrong")).rejects.toThrow(UnauthorizedError);
  });

  test("signSigstore() with an aborted signal throws AbortError", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(signSigstore(image.manifest, "example.com/a:b", pair.privateKeyPem, PASS, { signal: ac.signal })).rejects.toThrow(AbortError);
  });

  test("createSigstoreSigner() decrypts once and signs several manifests", async () => {
    const signer = await createSigstoreSigner(pair.privateKeyPem, PASS, { what: "cosign.key" });
    expect(signer.description).toBe("sigstore key cosign.key");
    const second = makeFixtureImage({ format: "docker" });
    for (const img of [image, second]) {
      const sig = await signer.sign(img.manifest, parseNormalizedNamed("example.com/app:v1"));
      const v = await verifySigstoreSignature(sig, [pub]);
      expect(v.dockerManifestDigest).toBe(img.digest);
      expect(v.dockerReference).toBe("example.com/app:v1");
    }
  });

  test("signSigstoreWithKey() signs with cosign's own test key, verifiable by its public key", async () => {
    const key = await loadSigstorePrivateKey(COSIGN_SIGSTORE_KEY, COSIGN_TEST_PASSPHRASE);
    const sig = await signSigstoreWithKey(image.manifest, "example.com/a:b", key);
    const v = await verifySigstoreSignature(sig, [await importSigstorePublicKey(await key.publicKeyPem())]);
    expect(v.dockerManifestDigest).toBe(manifestDigest(image.manifest));
  });
});

describe("verifySigstoreSignature", () => {
  let good: SigstoreSignature;
  beforeAll(async () => {
    good = await signSigstore(image.manifest, "example.com/ns/app:1", pair.privateKeyPem, PASS, { creator: "c", timestamp: 5 });
  });

  test("verifySigstoreSignature() returns the claims of a valid signature", async () => {
    expect(await verifySigstoreSignature(good, [pub])).toEqual({
      dockerManifestDigest: image.digest,
      dockerReference: "example.com/ns/app:1",
      payload: { dockerManifestDigest: image.digest, dockerReference: "example.com/ns/app:1", creator: "c", timestamp: 5 },
      keyIndex: 0,
    });
  });

  test("verifySigstoreSignature() accepts a signature by any of several keys and says which", async () => {
    expect((await verifySigstoreSignature(good, [otherPub, pub])).keyIndex).toBe(1);
  });

  test("verifySigstoreSignature() with the wrong key throws SignatureInvalidError", async () => {
    await expect(verifySigstoreSignature(good, [otherPub])).rejects.toThrow(/cryptographic signature verification failed: the signature does not match the trusted public key/);
    await expect(verifySigstoreSignature(good, [otherPub, otherPub])).rejects.toThrow(/any of the 2 trusted public keys/);
  });

  test("verifySigstoreSignature() of a tampered payload throws SignatureInvalidError", async () => {
    const payload = new Uint8Array(good.untrustedPayload);
    const i = text(payload).indexOf("ns/app");
    payload[i] = "N".charCodeAt(0);
    await expect(verifySigstoreSignature({ ...good, untrustedPayload: payload }, [pub])).rejects.toThrow(SignatureInvalidError);
    // Even whitespace added to the JSON breaks the signature: the bytes are what is signed.
    await expect(verifySigstoreSignature({ ...good, untrustedPayload: bytes(`${text(good.untrustedPayload)} `) }, [pub])).rejects.toThrow(/verification failed/);
  });

  test("verifySigstoreSignature() of a tampered signature throws SignatureInvalidError", async () => {
    const der = unb64(good.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string);
    for (const i of [5, der.length - 1]) {
      const t = new Uint8Array(der);
      t[i] = (t[i] as number) ^ 0x01;
      await expect(verifySigstoreSignature(withAnnotations(good, { [SIGSTORE_SIGNATURE_ANNOTATION]: b64(t) }), [pub])).rejects.toThrow(/verification failed/);
    }
    // The same signature with trailing bytes, truncated, empty, or not DER at all.
    for (const bad of [Uint8Array.of(...der, 0), der.subarray(0, der.length - 1), new Uint8Array(0), bytes("invalid signature"), Uint8Array.of(...der, ...der)]) {
      await expect(verifySigstoreSignature(withAnnotations(good, { [SIGSTORE_SIGNATURE_ANNOTATION]: b64(bad) }), [pub])).rejects.toThrow(/verification failed/);
    }
  });

  test("verifySigstoreSignature() refuses a DER signature with a non-minimal integer", async () => {
    const der = unb64(good.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string);
    // Re-encode r with a superfluous leading zero byte: same numbers, not DER.
    const rLen = der[3] as number;
    const r = der.subarray(4, 4 + rLen);
    const rest = der.subarray(4 + rLen);
    const padded = Uint8Array.of(0x30, (der[1] as number) + 1, 0x02, rLen + 1, 0x00, ...r, ...rest);
    await expect(verifySigstoreSignature(withAnnotations(good, { [SIGSTORE_SIGNATURE_ANNOTATION]: b64(padded) }), [pub])).rejects.toThrow(/verification failed/);
  });

  test("verifySigstoreSignature() of an invalid base64 annotation throws SignatureInvalidError", async () => {
    const sig = good.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string;
    for (const bad of ["&", `${sig}=`, sig.slice(0, -1), ` ${sig}`]) {
      await expect(verifySigstoreSignature(withAnnotations(good, { [SIGSTORE_SIGNATURE_ANNOTATION]: bad }), [pub])).rejects.toThrow(/annotation is not valid base64/);
    }
  });

  test("verifySigstoreSignature() without the signature annotation names it", async () => {
    await expect(verifySigstoreSignature(withAnnotations(good, { other: "x" }), [pub])).rejects.toThrow(`missing ${SIGSTORE_SIGNATURE_ANNOTATION} annotation`);
  });

  test("verifySigstoreSignature() of another attachment MIME type throws SignatureInvalidError", async () => {
    await expect(verifySigstoreSignature({ ...good, untrustedMIMEType: "application/vnd.in-toto+json" }, [pub])).rejects.toThrow(/MIME type is "application\/vnd.in-toto\+json"/);
  });

  test("verifySigstoreSignature() without keys throws InvalidConfigurationError", async () => {
    await expect(verifySigstoreSignature(good, [])).rejects.toThrow(InvalidConfigurationError);
  });

  test("verifySigstoreSignature() checks the signature before parsing the payload", async () => {
    // An unknown critical key in a payload that is not signed: the crypto failure is reported, not the payload.
    const forged = bytes(text(good.untrustedPayload).replace('"type":', '"extra":1,"type":'));
    await expect(verifySigstoreSignature({ ...good, untrustedPayload: forged }, [pub])).rejects.toThrow(/verification failed/);
  });

  test("verifySigstoreSignature() rejects a validly signed payload with an unknown critical key", async () => {
    const key = await loadSigstorePrivateKey(pair.privateKeyPem, PASS);
    const payload = bytes(text(good.untrustedPayload).replace('"type":', '"extra":1,"type":'));
    const sig = sigstoreSignature(payload, b64(await key.sign(payload)));
    await expect(verifySigstoreSignature(sig, [pub])).rejects.toThrow(/unknown key "extra" in critical/);
  });

  test("verifySigstoreSignature() verifies a real `cosign sign --key` signature", async () => {
    const c = COSIGN_IMAGE_SIGNATURE;
    const sig = sigstoreSignature(unb64(c.payloadBase64), c.signature);
    const v = await verifySigstoreSignature(sig, [await importSigstorePublicKey(c.publicKey)]);
    expect(v.dockerReference).toBe(c.dockerReference);
    expect(v.dockerManifestDigest).toBe(c.digest);
    expect(v.payload.creator).toBeUndefined();
    await expect(verifySigstoreSignature(sig, [await importSigstorePublicKey(c.otherPublicKey)])).rejects.toThrow(/verification failed/);
  });

  test("verifySigstoreSignature() passes the crypto check of containers/image's signed non-payloads, then rejects the payload", async () => {
    const key = await importSigstorePublicKey(CONTAINERS_IMAGE_COSIGN_PUB);
    const nonJson = sigstoreSignature(CONTAINERS_IMAGE_SIGNED_NON_JSON.payload, CONTAINERS_IMAGE_SIGNED_NON_JSON.signature);
    const empty = sigstoreSignature(CONTAINERS_IMAGE_SIGNED_EMPTY_OBJECT.payload, CONTAINERS_IMAGE_SIGNED_EMPTY_OBJECT.signature);
    expect(await key.verify(unb64(nonJson.untrustedAnnotations[SIGSTORE_SIGNATURE_ANNOTATION] as string), nonJson.untrustedPayload)).toBe(true);
    await expect(verifySigstoreSignature(nonJson, [key])).rejects.toThrow(/invalid sigstore signature payload: invalid JSON/);
    await expect(verifySigstoreSignature(empty, [key])).rejects.toThrow(/invalid sigstore signature payload: unknown key|missing key "critical"/);
    // Swapped: each signature with the other payload fails the crypto check.
    await expect(verifySigstoreSignature(sigstoreSignature("{}", CONTAINERS_IMAGE_SIGNED_NON_JSON.signature), [key])).rejects.toThrow(/verification failed/);
  });
});

describe("createSigstoreVerifier", () => {
  test("createSigstoreVerifier() declares public keys only", () => {
    expect(createSigstoreVerifier().capabilities).toEqual({ publicKeys: true, fulcio: false, rekor: false, pki: false });
  });

  test("createSigstoreVerifier().verify() names the key file of a malformed key", async () => {
    const v = createSigstoreVerifier();
    const sig = await signSigstore(image.manifest, "example.com/a:b", pair.privateKeyPem, PASS);
    const err = await v
      .verify(sig, { publicKeys: [bytes(pair.publicKeyPem), bytes("nope")], requirement: { keyPaths: ["/keys/a.pub", "/keys/b.pub"] } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toMatch(/the public key \/keys\/b.pub: no PEM block/);
    await expect(v.verify(sig, { publicKeys: [] })).rejects.toThrow(/no public keys/);
  });
});
