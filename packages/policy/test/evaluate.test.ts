import { afterAll, describe, expect, test } from "vitest";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGpgTestKeys, type GpgTestKeys } from "@stevedore/testing";
import { gpgMechanismProvider } from "@stevedore/signature-gpg";
import { openpgpMechanismProvider } from "@stevedore/signature-openpgp";
import { createSimpleSigningPayload, signDockerManifest } from "@stevedore/signature-simple";
import { createPolicyContext, ImageRejectedByPolicyError, parsePolicy, type PolicyContext, type PolicyContextOptions } from "@stevedore/policy";
import { readKeyFile } from "@stevedore/policy/node";
import { digestOf, PolicyRejectedError, UnsupportedError, type SignatureMechanism, type SignatureMechanismProvider } from "@stevedore/types";
import { b64, enc, image, MANIFEST, OTHER_MANIFEST, simple, testDirTransport, testDockerTransport } from "./helpers.js";

let keysPromise: Promise<GpgTestKeys> | undefined;
const keys = () => (keysPromise ??= createGpgTestKeys());
const contexts: PolicyContext[] = [];
const mechanisms: SignatureMechanism[] = [];
let keyDir: string | undefined;
afterAll(async () => {
  for (const c of contexts) await c.close();
  for (const m of mechanisms) await m.close();
  if (keysPromise) await (await keysPromise).cleanup();
  if (keyDir) await rm(keyDir, { recursive: true, force: true });
});
const T = 60_000;

const docker = (s: string) => testDockerTransport.parseReference(`//${s}`);

function context(policyJson: unknown, options: PolicyContextOptions): PolicyContext {
  const c = createPolicyContext(parsePolicy(JSON.stringify(policyJson)), options);
  contexts.push(c);
  return c;
}

async function openpgpSigner(k: GpgTestKeys): Promise<SignatureMechanism> {
  const m = await openpgpMechanismProvider.newMechanism({ keys: [k.rsa.secretKey, k.subkey.secretKey] });
  mechanisms.push(m);
  return m;
}

async function gpgSigner(k: GpgTestKeys): Promise<SignatureMechanism> {
  const m = await gpgMechanismProvider.newMechanism({ homeDir: k.homeDir });
  mechanisms.push(m);
  return m;
}

async function rejection(p: Promise<unknown>): Promise<ImageRejectedByPolicyError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ImageRejectedByPolicyError);
    expect(e).toBeInstanceOf(PolicyRejectedError);
    return e as ImageRejectedByPolicyError;
  }
  throw new Error("the image was allowed, a rejection was expected");
}

describe("PolicyContext.requirementsFor()", () => {
  const policy = {
    default: [{ type: "reject" }],
    transports: {
      docker: {
        "": [{ type: "insecureAcceptAnything" }],
        "quay.io/org/app:1.0": [{ type: "reject" }],
        "quay.io/org": [{ type: "signedBy", keyType: "GPGKeys", keyData: "YQ==" }],
        "*.example.com": [{ type: "signedBaseLayer", baseLayerIdentity: { type: "matchRepository" } }],
      },
      dir: { "/srv": [{ type: "insecureAcceptAnything" }] },
    },
  };
  const c = createPolicyContext(parsePolicy(JSON.stringify(policy)));
  const cases: Array<[string, ReturnType<typeof docker>, string]> = [
    ["the exact identity", docker("quay.io/org/app:1.0"), 'transports.docker["quay.io/org/app:1.0"]'],
    ["a parent namespace", docker("quay.io/org/app:2.0"), 'transports.docker["quay.io/org"]'],
    ["a wildcard host", docker("registry.example.com/x:1"), 'transports.docker["*.example.com"]'],
    ["the transport default", docker("docker.io/library/busybox:1"), 'transports.docker[""]'],
    ["a dir path namespace", testDirTransport.parseReference("/srv/images/a"), 'transports.dir["/srv"]'],
    ["the global default for an unmatched dir path", testDirTransport.parseReference("/tmp/a"), "default"],
  ];
  for (const [what, ref, description] of cases) {
    test(`uses ${what}: ${description}`, () => {
      expect(c.requirementsFor(ref).description).toBe(description);
    });
  }
});

describe("PolicyContext.isRunningImageAllowed() without signatures", () => {
  test("insecureAcceptAnything allows; reject denies naming the image, the scope and the reason", async () => {
    const c = context({ default: [{ type: "insecureAcceptAnything" }], transports: { docker: { "quay.io": [{ type: "reject" }] } } }, {});
    await expect(c.isRunningImageAllowed(image(docker("docker.io/library/busybox:1"), MANIFEST, []))).resolves.toBe(true);
    const e = await rejection(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])));
    expect(e.code).toBe("ERR_POLICY_REJECTED");
    expect(e.image).toBe("docker://quay.io/a/b:1");
    expect(e.scope).toBe('transports.docker["quay.io"]');
    expect(e.message).toContain("Running image docker://quay.io/a/b:1 is rejected by policy.");
  });

  test("every requirement must allow: one rejection among accepting requirements rejects, naming it", async () => {
    const c = context({ default: [{ type: "insecureAcceptAnything" }, { type: "reject" }, { type: "insecureAcceptAnything" }] }, {});
    const e = await rejection(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])));
    expect(e.rejections.map((r) => [r.index, r.type])).toEqual([[1, "reject"]]);
    expect(e.message).toContain("requirement 2 (reject)");
  });

  test("signedBaseLayer always denies as not supported", async () => {
    const c = context({ default: [{ type: "signedBaseLayer", baseLayerIdentity: { type: "matchRepository" } }] }, {});
    const e = await rejection(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])));
    expect(e.message).toMatch(/signedBaseLayer is not supported/);
  });

  test("signedBy with another keyType than GPGKeys is refused as not supported", async () => {
    const c = context({ default: [{ type: "signedBy", keyType: "X509Certificates", keyData: "YQ==" }] }, { mechanismProvider: openpgpMechanismProvider });
    const e = await rejection(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])));
    expect(e.message).toMatch(/keyType "X509Certificates" is not supported/);
  });

  test("signedBy without a mechanism provider, or a keyPath without readKeyFile, denies with what is missing", async () => {
    const k = await keys();
    const sig = simple(await signDockerManifest(MANIFEST, "quay.io/a/b:1", await openpgpSigner(k), k.rsa.fingerprint));
    const noMech = context({ default: [{ type: "signedBy", keyType: "GPGKeys", keyData: b64(k.rsa.publicKey) }] }, {});
    expect((await rejection(noMech.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [sig])))).message).toMatch(/no signature mechanism is configured/);
    const noReader = context({ default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/nonexistent.gpg" }] }, { mechanismProvider: openpgpMechanismProvider });
    expect((await rejection(noReader.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [sig])))).message).toMatch(/no readKeyFile/);
    const missing = context(
      { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/nonexistent/stevedore.gpg" }] },
      { mechanismProvider: openpgpMechanismProvider, readKeyFile },
    );
    expect((await rejection(missing.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [sig])))).message).toMatch(
      /cannot read the key file \/nonexistent\/stevedore\.gpg/,
    );
  }, T);

  test("sigstoreSigned without a verifier is refused as not supported", async () => {
    const c = context({ default: [{ type: "sigstoreSigned", keyData: "YQ==" }] }, {});
    const e = await rejection(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])));
    expect(e.message).toMatch(/sigstoreSigned requirements are not supported/);
  });

  test("a closed context refuses to evaluate", async () => {
    const c = createPolicyContext(parsePolicy('{"default":[{"type":"insecureAcceptAnything"}]}'));
    await c.close();
    await expect(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, []))).rejects.toBeInstanceOf(UnsupportedError);
  });
});

const providers: Record<string, SignatureMechanismProvider> = { openpgp: openpgpMechanismProvider, gpg: gpgMechanismProvider };
const signers = { openpgp: openpgpSigner, gpg: gpgSigner };

for (const [providerName, provider] of Object.entries(providers)) {
  for (const [signerName, makeSigner] of Object.entries(signers)) {
    describe(`signedBy verified by ${providerName}, signatures made by ${signerName}`, () => {
      const REF = "quay.io/stevedore/app:1.0";
      const setup = async (extra: (k: GpgTestKeys) => Record<string, unknown> = () => ({})) => {
        const k = await keys();
        const signer = await makeSigner(k);
        const policy = { default: [{ type: "signedBy", keyType: "GPGKeys", keyData: b64(k.rsa.publicKey), ...extra(k) }] };
        return { k, signer, c: context(policy, { mechanismProvider: provider, readKeyFile }) };
      };

      test(
        "a valid signature for the manifest and identity is accepted",
        async () => {
          const { k, signer, c } = await setup();
          const sig = simple(await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint));
          await expect(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [sig]))).resolves.toBe(true);
        },
        T,
      );

      test(
        "no signature: \"A signature was required, but no signature exists\"",
        async () => {
          const { c } = await setup();
          const e = await rejection(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [])));
          expect(e.message).toContain("A signature was required, but no signature exists");
          expect(e.rejections).toHaveLength(1);
        },
        T,
      );

      test(
        "a tampered manifest, a signature for another digest and another identity are each rejected with the reason",
        async () => {
          const { k, signer, c } = await setup();
          const sig = simple(await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint));
          const tampered = await rejection(c.isRunningImageAllowed(image(docker(REF), OTHER_MANIFEST, [sig])));
          expect(tampered.message).toContain(`Signature for digest ${digestOf(MANIFEST)} does not match the manifest`);
          const otherDigest = simple(await signDockerManifest(OTHER_MANIFEST, REF, signer, k.rsa.fingerprint));
          expect((await rejection(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [otherDigest])))).message).toContain(
            `Signature for digest ${digestOf(OTHER_MANIFEST)} does not match`,
          );
          const otherIdentity = simple(await signDockerManifest(MANIFEST, "quay.io/stevedore/app:2.0", signer, k.rsa.fingerprint));
          expect((await rejection(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [otherIdentity])))).message).toContain(
            'Signature for identity "quay.io/stevedore/app:2.0" is not accepted',
          );
        },
        T,
      );

      test(
        "signatures by a key not in the policy, by an unknown key and by an expired key are rejected; the reasons are all listed",
        async () => {
          const { k, signer, c } = await setup((k) => ({ keyData: b64(new Uint8Array([...k.rsa.publicKey, ...k.expired.publicKey])) }));
          const payload = createSimpleSigningPayload({ dockerManifestDigest: digestOf(MANIFEST), dockerReference: REF });
          const bySubkey = simple(await signer.sign(payload, k.subkey.fingerprint));
          const byUnknown = simple(await k.gpgSign(payload, k.unknown.fingerprint, { homeDir: k.otherHomeDir }));
          const byExpired = simple(await k.gpgSign(payload, k.expired.fingerprint, { fakedTime: "20200101T020000" }));
          const e = await rejection(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [bySubkey, byUnknown, byExpired])));
          expect(e.message).toContain("None of the signatures were accepted, reasons: ");
          expect(e.message).toContain(`unknown key ID ${k.subkey.signingSubkeyFingerprint?.slice(-16)}`);
          expect(e.message).toContain(`unknown key ID ${k.unknown.keyID}`);
          expect(e.message).toMatch(/has expired/);
          // One good signature among the bad ones is enough.
          const good = simple(await signDockerManifest(MANIFEST, REF, signer, k.rsa.fingerprint));
          await expect(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [bySubkey, good, byUnknown]))).resolves.toBe(true);
        },
        T,
      );

      test(
        "a malformed payload (an unknown critical field) signed by a trusted key is rejected",
        async () => {
          const { k, signer, c } = await setup();
          const good = JSON.parse(new TextDecoder().decode(createSimpleSigningPayload({ dockerManifestDigest: digestOf(MANIFEST), dockerReference: REF })));
          good.critical.unknownField = "surprise";
          const sig = simple(await signer.sign(enc.encode(JSON.stringify(good)), k.rsa.fingerprint));
          const e = await rejection(c.isRunningImageAllowed(image(docker(REF), MANIFEST, [sig])));
          expect(e.message).toContain('invalid signature payload: unknown key "unknownField" in critical');
        },
        T,
      );
    });
  }
}

describe("signedBy with key files and identity matchers (openpgp)", () => {
  const sign = async (manifest: Uint8Array, ref: string) => {
    const k = await keys();
    return simple(await signDockerManifest(manifest, ref, await openpgpSigner(k), k.rsa.fingerprint));
  };
  const withIdentity = async (signedIdentity: unknown) => {
    const k = await keys();
    return context({ default: [{ type: "signedBy", keyType: "GPGKeys", keyData: b64(k.rsa.publicKey), signedIdentity }] }, { mechanismProvider: openpgpMechanismProvider });
  };

  test(
    "keyPath and keyPaths are read through readKeyFile; the signing key may be in any of the files",
    async () => {
      const k = await keys();
      keyDir ??= await mkdtemp(join(tmpdir(), "stevedore-policy-keys-"));
      const a = join(keyDir, "a.gpg");
      const b = join(keyDir, "b.asc");
      await writeFile(a, k.protected.publicKey);
      await writeFile(b, k.rsa.publicKey);
      const sig = await sign(MANIFEST, "quay.io/a/b:1");
      const both = context({ default: [{ type: "signedBy", keyType: "GPGKeys", keyPaths: [a, b] }] }, { mechanismProvider: openpgpMechanismProvider, readKeyFile });
      await expect(both.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [sig]))).resolves.toBe(true);
      const one = context({ default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: b }] }, { mechanismProvider: openpgpMechanismProvider, readKeyFile });
      await expect(one.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [sig]))).resolves.toBe(true);
      const wrong = context({ default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: a }] }, { mechanismProvider: openpgpMechanismProvider, readKeyFile });
      expect((await rejection(wrong.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [sig])))).message).toMatch(/unknown key ID/);
    },
    T,
  );

  const cases: Array<[string, unknown, string, string, boolean]> = [
    // [what, signedIdentity, image reference, signed reference, accepted]
    ["matchExact: same tag", { type: "matchExact" }, "quay.io/a/b:1", "quay.io/a/b:1", true],
    ["matchExact: other tag", { type: "matchExact" }, "quay.io/a/b:1", "quay.io/a/b:2", false],
    ["matchRepoDigestOrExact: same tag", { type: "matchRepoDigestOrExact" }, "quay.io/a/b:1", "quay.io/a/b:1", true],
    ["matchRepoDigestOrExact: other tag", { type: "matchRepoDigestOrExact" }, "quay.io/a/b:1", "quay.io/a/b:2", false],
    ["matchRepoDigestOrExact: digest image, any tag of the repository", { type: "matchRepoDigestOrExact" }, `quay.io/a/b@${digestOf(MANIFEST)}`, "quay.io/a/b:2", true],
    ["matchRepoDigestOrExact: digest image, other repository", { type: "matchRepoDigestOrExact" }, `quay.io/a/b@${digestOf(MANIFEST)}`, "quay.io/a/c:2", false],
    ["matchRepository: other tag", { type: "matchRepository" }, "quay.io/a/b:latest", "quay.io/a/b:1.2.3", true],
    ["matchRepository: other repository", { type: "matchRepository" }, "quay.io/a/b:1", "quay.io/a/c:1", false],
    ["exactReference: the named reference", { type: "exactReference", dockerReference: "vendor.example.com/p/app:3" }, "quay.io/mirror/app:3", "vendor.example.com/p/app:3", true],
    ["exactReference: another reference", { type: "exactReference", dockerReference: "vendor.example.com/p/app:3" }, "quay.io/mirror/app:3", "quay.io/mirror/app:3", false],
    ["exactRepository: the named repository", { type: "exactRepository", dockerRepository: "vendor.example.com/p/app" }, "quay.io/mirror/app:3", "vendor.example.com/p/app:9", true],
    ["exactRepository: another repository", { type: "exactRepository", dockerRepository: "vendor.example.com/p/app" }, "quay.io/mirror/app:3", "vendor.example.com/p/other:3", false],
    ["remapIdentity: remapped prefix", { type: "remapIdentity", prefix: "mirror.example.com:5000/vendor", signedPrefix: "vendor.example.com" }, "mirror.example.com:5000/vendor/p/app:1", "vendor.example.com/p/app:1", true],
    ["remapIdentity: unremapped name", { type: "remapIdentity", prefix: "mirror.example.com:5000/vendor", signedPrefix: "vendor.example.com" }, "mirror.example.com:5000/vendor/p/app:1", "mirror.example.com:5000/vendor/p/app:1", false],
    ["remapIdentity: outside the prefix, exact match", { type: "remapIdentity", prefix: "mirror.example.com:5000/vendor", signedPrefix: "vendor.example.com" }, "mirror.example.com:5000/vendorx/app:1", "mirror.example.com:5000/vendorx/app:1", true],
    ["remapIdentity: familiar names compare normalised", { type: "remapIdentity", prefix: "docker.io/library", signedPrefix: "quay.io/lib" }, "busybox:1", "quay.io/lib/busybox:1", true],
  ];
  for (const [what, signedIdentity, imageRef, signedRef, accepted] of cases) {
    test(
      `${what} → ${accepted ? "accepted" : "rejected"}`,
      async () => {
        const c = await withIdentity(signedIdentity);
        const img = image(docker(imageRef), MANIFEST, [await sign(MANIFEST, signedRef)]);
        if (accepted) await expect(c.isRunningImageAllowed(img)).resolves.toBe(true);
        else expect((await rejection(c.isRunningImageAllowed(img))).message).toContain(`Signature for identity ${JSON.stringify(signedRef)} is not accepted`);
      },
      T,
    );
  }

  test(
    "an image named by a digest its manifest does not match is rejected before signatures count",
    async () => {
      const c = await withIdentity({ type: "matchRepoDigestOrExact" });
      const img = image(docker(`quay.io/a/b@${digestOf(MANIFEST)}`), OTHER_MANIFEST, [await sign(OTHER_MANIFEST, "quay.io/a/b:1")]);
      expect((await rejection(c.isRunningImageAllowed(img))).message).toMatch(/the manifest does not match the digest/);
    },
    T,
  );

  test(
    "an image without a docker reference (dir:) only matches exactReference/exactRepository",
    async () => {
      const dirRef = testDirTransport.parseReference("/srv/images/app");
      const sig = await sign(MANIFEST, "quay.io/a/b:1");
      const repo = await withIdentity({ type: "matchRepository" });
      expect((await rejection(repo.isRunningImageAllowed(image(dirRef, MANIFEST, [sig])))).message).toMatch(/the image has no docker reference/);
      const exact = await withIdentity({ type: "exactReference", dockerReference: "quay.io/a/b:1" });
      await expect(exact.isRunningImageAllowed(image(dirRef, MANIFEST, [sig]))).resolves.toBe(true);
    },
    T,
  );
});

describe("sigstoreSigned through an injected verifier", () => {
  // A minimal verifier for public-key signatures of cosign payloads (ECDSA P-256 with SHA-256, in
  // WebCrypto's r||s encoding where cosign uses DER), on WebCrypto: enough to exercise the policy's
  // side of sigstoreSigned (key reading, format filtering, digest and identity checks).
  async function cosignKeyPair() {
    const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
    return { pair, spki };
  }
  const verifier = (caps: Partial<{ publicKeys: boolean; fulcio: boolean; rekor: boolean; pki: boolean }> = {}) => ({
    capabilities: { publicKeys: true, fulcio: false, rekor: false, pki: false, ...caps },
    async verify(sig: { untrustedPayload: Uint8Array; untrustedAnnotations: Readonly<Record<string, string>> }, trust: { publicKeys: readonly Uint8Array[] }) {
      const raw = Uint8Array.from(atob(sig.untrustedAnnotations["dev.cosignproject.cosign/signature"] ?? ""), (c) => c.charCodeAt(0));
      for (const k of trust.publicKeys) {
        const key = await crypto.subtle.importKey("spki", new Uint8Array(k), { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
        if (await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, raw, new Uint8Array(sig.untrustedPayload))) {
          const p = JSON.parse(new TextDecoder().decode(sig.untrustedPayload));
          return { dockerManifestDigest: p.critical.image["docker-manifest-digest"], dockerReference: p.critical.identity["docker-reference"] };
        }
      }
      throw new Error("cryptographic signature verification failed");
    },
  });
  async function cosignSignature(pair: CryptoKeyPair, manifest: Uint8Array, ref: string) {
    const payload = enc.encode(
      JSON.stringify({
        critical: { identity: { "docker-reference": ref }, image: { "docker-manifest-digest": digestOf(manifest) }, type: "cosign container image signature" },
        optional: null,
      }),
    );
    const s = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, payload));
    return {
      format: "sigstore-json" as const,
      untrustedMIMEType: "application/vnd.dev.cosign.simplesigning.v1+json",
      untrustedPayload: payload,
      untrustedAnnotations: { "dev.cosignproject.cosign/signature": b64(s) },
    };
  }

  test("a signature by the key for the manifest and identity is accepted; others are rejected with the reason", async () => {
    const { pair, spki } = await cosignKeyPair();
    const other = await cosignKeyPair();
    const c = context({ default: [{ type: "sigstoreSigned", keyData: b64(spki) }] }, { sigstoreVerifier: verifier() });
    const ref = "quay.io/a/b:1";
    await expect(c.isRunningImageAllowed(image(docker(ref), MANIFEST, [await cosignSignature(pair, MANIFEST, ref)]))).resolves.toBe(true);
    expect((await rejection(c.isRunningImageAllowed(image(docker(ref), OTHER_MANIFEST, [await cosignSignature(pair, MANIFEST, ref)])))).message).toMatch(
      /Signature for digest .* does not match the manifest/,
    );
    expect((await rejection(c.isRunningImageAllowed(image(docker(ref), MANIFEST, [await cosignSignature(pair, MANIFEST, "quay.io/a/b:2")])))).message).toMatch(
      /Signature for identity "quay.io\/a\/b:2" is not accepted/,
    );
    expect((await rejection(c.isRunningImageAllowed(image(docker(ref), MANIFEST, [await cosignSignature(other.pair, MANIFEST, ref)])))).message).toMatch(
      /cryptographic signature verification failed/,
    );
    // Simple-signing signatures do not count for sigstoreSigned.
    expect((await rejection(c.isRunningImageAllowed(image(docker(ref), MANIFEST, [simple(new Uint8Array([0xa3]))])))).message).toMatch(
      /no sigstore signature exists \(the image has 1 signature\(s\) of another format\)/,
    );
  });

  test("Fulcio, PKI and Rekor requirements are refused as not supported unless the verifier implements them", async () => {
    const fulcio = {
      default: [
        { type: "sigstoreSigned", fulcio: { caData: "YQ==", oidcIssuer: "https://i", subjectEmail: "a@b" }, rekorPublicKeyData: "YQ==" },
      ],
    };
    const c = context(fulcio, { sigstoreVerifier: verifier() });
    expect((await rejection(c.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])))).message).toMatch(
      /sigstoreSigned with fulcio, rekor is not supported by the configured sigstore verifier/,
    );
    const pki = context({ default: [{ type: "sigstoreSigned", pki: { caRootsData: "YQ==", subjectEmail: "a@b" } }] }, { sigstoreVerifier: verifier() });
    expect((await rejection(pki.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])))).message).toMatch(/with pki is not supported/);
    // A verifier that claims Fulcio and Rekor support gets the requirement (and here finds no signature).
    const capable = context(fulcio, { sigstoreVerifier: verifier({ fulcio: true, rekor: true }) });
    expect((await rejection(capable.isRunningImageAllowed(image(docker("quay.io/a/b:1"), MANIFEST, [])))).message).toContain(
      "A signature was required, but no signature exists",
    );
  });
});
