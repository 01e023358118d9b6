import { generateKeyPairSync, createPublicKey } from "node:crypto";
import { describe, expect, test } from "vitest";
import {
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
  decryptSigstoreEnvelope,
  encryptSigstoreEnvelope,
  generateSigstoreKeyPair,
  importSigstorePublicKey,
  loadSigstorePrivateKey,
} from "@stevedore/signature-sigstore";
import { AbortError, InvalidConfigurationError, UnauthorizedError, UnsupportedError } from "@stevedore/types";
import {
  COSIGN_LEGACY_LABEL_KEY,
  COSIGN_SEC1_KEY,
  COSIGN_SIGSTORE_KEY,
  COSIGN_TEST_PASSPHRASE,
  ENVELOPE_BAD_PARAMS,
  ENVELOPE_PASSPHRASE,
  ENVELOPE_PLAINTEXT,
  ENVELOPE_VECTORS,
} from "./fixtures.js";
import { b64, bytes, text, unb64 } from "./helpers.js";

/** A PEM block of `der` with the given label, as Go's encoder writes it. */
function pem(label: string, der: Uint8Array): string {
  const lines = b64(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** A cosign-format encrypted private key around a PKCS #8 key made by Node (OpenSSL). */
async function cosignKeyOf(pkcs8Der: Uint8Array, passphrase: string, label = SIGSTORE_PRIVATE_KEY_PEM_TYPE): Promise<string> {
  return pem(label, await encryptSigstoreEnvelope(pkcs8Der, passphrase));
}

function nodeKeys(type: "ec" | "rsa" | "ed25519" | "ed448", curve?: string) {
  const opts = type === "ec" ? { namedCurve: curve as string } : type === "rsa" ? { modulusLength: 2048 } : {};
  const { publicKey, privateKey } = generateKeyPairSync(type as "ec", opts as { namedCurve: string });
  return {
    publicPem: publicKey.export({ type: "spki", format: "pem" }) as string,
    pkcs8: new Uint8Array(privateKey.export({ type: "pkcs8", format: "der" })),
  };
}

describe("encrypted envelope", () => {
  for (const [name, vector] of Object.entries(ENVELOPE_VECTORS)) {
    test(`decryptSigstoreEnvelope() opens go-securesystemslib's ${name} vector`, async () => {
      expect(text(await decryptSigstoreEnvelope(vector, ENVELOPE_PASSPHRASE))).toBe(ENVELOPE_PLAINTEXT);
    });
  }

  test("decryptSigstoreEnvelope() with a wrong passphrase throws UnauthorizedError", async () => {
    await expect(decryptSigstoreEnvelope(ENVELOPE_VECTORS.legacy as string, "supersecreT")).rejects.toThrow(UnauthorizedError);
  });

  test("decryptSigstoreEnvelope() refuses scrypt parameters outside the accepted sets before deriving anything", async () => {
    const err = await decryptSigstoreEnvelope(ENVELOPE_BAD_PARAMS, ENVELOPE_PASSPHRASE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toMatch(/unsupported scrypt parameters N=99, r=99, p=99/);
    // A huge N (what a tampered file would use to exhaust memory) is refused the same way.
    const huge = (ENVELOPE_VECTORS.legacy as string).replace('"N":32768', '"N":1073741824');
    await expect(decryptSigstoreEnvelope(huge, ENVELOPE_PASSPHRASE)).rejects.toThrow(/unsupported scrypt parameters N=1073741824/);
  });

  test("decryptSigstoreEnvelope() of a tampered ciphertext throws UnauthorizedError", async () => {
    const doc = JSON.parse(ENVELOPE_VECTORS.legacy as string) as { ciphertext: string };
    const ct = unb64(doc.ciphertext);
    ct[3] = (ct[3] as number) ^ 1;
    doc.ciphertext = b64(ct);
    await expect(decryptSigstoreEnvelope(JSON.stringify(doc), ENVELOPE_PASSPHRASE)).rejects.toThrow(UnauthorizedError);
  });

  const malformed: [string, (d: Record<string, any>) => unknown, RegExp][] = [
    ["not an object", () => [], /must be a JSON object/],
    ["no kdf", (d) => delete d.kdf, /missing "kdf"/],
    ["another kdf", (d) => (d.kdf.name = "pbkdf2"), /unknown key derivation function "pbkdf2"/],
    ["no params", (d) => delete d.kdf.params, /missing "params" in kdf/],
    ["a string N", (d) => (d.kdf.params.N = "32768"), /kdf.params.N must be an integer/],
    ["a bad salt", (d) => (d.kdf.salt = "%%%"), /kdf.salt is not valid base64/],
    ["another cipher", (d) => (d.cipher.name = "aes-gcm"), /unknown cipher "aes-gcm"/],
    ["a short nonce", (d) => (d.cipher.nonce = b64(new Uint8Array(12))), /cipher.nonce must be 24 bytes, not 12/],
    ["a numeric ciphertext", (d) => (d.ciphertext = 5), /ciphertext must be a string/],
    ["a short ciphertext", (d) => (d.ciphertext = b64(new Uint8Array(8))), /shorter than its authentication tag/],
  ];
  for (const [what, change, message] of malformed) {
    test(`decryptSigstoreEnvelope() with ${what} throws InvalidConfigurationError`, async () => {
      const d = JSON.parse(ENVELOPE_VECTORS.legacy as string) as Record<string, any>;
      const replaced = change(d);
      const doc = Array.isArray(replaced) ? replaced : d;
      const err = await decryptSigstoreEnvelope(JSON.stringify(doc), ENVELOPE_PASSPHRASE).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidConfigurationError);
      expect((err as Error).message).toMatch(message);
    });
  }

  test("decryptSigstoreEnvelope() rejects duplicate keys and invalid JSON as InvalidConfigurationError", async () => {
    const dup = (ENVELOPE_VECTORS.legacy as string).replace('{"kdf":', '{"ciphertext":"","kdf":');
    await expect(decryptSigstoreEnvelope(dup, ENVELOPE_PASSPHRASE)).rejects.toThrow(/duplicate key "ciphertext"/);
    await expect(decryptSigstoreEnvelope("{", ENVELOPE_PASSPHRASE)).rejects.toThrow(InvalidConfigurationError);
  });

  test("encryptSigstoreEnvelope() writes cosign's layout with N=32768, r=8, p=1 and round-trips", async () => {
    const env = await encryptSigstoreEnvelope(bytes("secret data"), "pw");
    const doc = JSON.parse(text(env)) as { kdf: { name: string; params: unknown; salt: string }; cipher: { name: string; nonce: string }; ciphertext: string };
    expect(Object.keys(doc)).toEqual(["kdf", "cipher", "ciphertext"]);
    expect(doc.kdf.name).toBe("scrypt");
    expect(doc.kdf.params).toEqual({ N: 32768, r: 8, p: 1 });
    expect(unb64(doc.kdf.salt)).toHaveLength(32);
    expect(doc.cipher.name).toBe("nacl/secretbox");
    expect(unb64(doc.cipher.nonce)).toHaveLength(24);
    expect(unb64(doc.ciphertext)).toHaveLength("secret data".length + 16);
    expect(text(await decryptSigstoreEnvelope(env, "pw"))).toBe("secret data");
    // Fresh salt and nonce every time.
    const again = JSON.parse(text(await encryptSigstoreEnvelope(bytes("secret data"), "pw"))) as typeof doc;
    expect(again.kdf.salt).not.toBe(doc.kdf.salt);
    expect(again.cipher.nonce).not.toBe(doc.cipher.nonce);
  });

  test("decryptSigstoreEnvelope() with an aborted signal throws AbortError", async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(decryptSigstoreEnvelope(ENVELOPE_VECTORS.legacy as string, ENVELOPE_PASSPHRASE, { signal: ac.signal })).rejects.toThrow(AbortError);
  });

  test("decryptSigstoreEnvelope() aborted during the key derivation throws AbortError", async () => {
    const ac = new AbortController();
    const p = decryptSigstoreEnvelope(ENVELOPE_VECTORS.owasp as string, ENVELOPE_PASSPHRASE, { signal: ac.signal });
    queueMicrotask(() => ac.abort());
    await expect(p).rejects.toThrow(AbortError);
  });
});

describe("loadSigstorePrivateKey", () => {
  test("loadSigstorePrivateKey() decrypts cosign's ENCRYPTED SIGSTORE PRIVATE KEY test key with its passphrase", async () => {
    const key = await loadSigstorePrivateKey(COSIGN_SIGSTORE_KEY, COSIGN_TEST_PASSPHRASE);
    expect(key.keyType).toBe("ecdsa-p256");
    const pub = await importSigstorePublicKey(await key.publicKeyPem());
    const sig = await key.sign(bytes("payload"));
    expect(await pub.verify(sig, bytes("payload"))).toBe(true);
    expect(await pub.verify(sig, bytes("payloaD"))).toBe(false);
  });

  test("loadSigstorePrivateKey() decrypts cosign's test key with the older ENCRYPTED COSIGN PRIVATE KEY label", async () => {
    const key = await loadSigstorePrivateKey(bytes(COSIGN_LEGACY_LABEL_KEY), COSIGN_TEST_PASSPHRASE);
    expect(key.keyType).toBe("ecdsa-p256");
    const pub = await importSigstorePublicKey(await key.publicKeyPem());
    expect(pub.keyType).toBe("ecdsa-p256");
    expect(await pub.verify(await key.sign(bytes("x")), bytes("x"))).toBe(true);
  });

  test("loadSigstorePrivateKey() refuses cosign's SEC 1 test key after decrypting it, as cosign does", async () => {
    const err = await loadSigstorePrivateKey(COSIGN_SEC1_KEY, COSIGN_TEST_PASSPHRASE, { what: "cosign-ec.key" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toMatch(/cosign-ec.key holds an EC private key in SEC 1 form, not PKCS #8/);
  });

  test("loadSigstorePrivateKey() with a wrong passphrase throws UnauthorizedError", async () => {
    await expect(loadSigstorePrivateKey(COSIGN_SIGSTORE_KEY, "hello ")).rejects.toThrow(UnauthorizedError);
    await expect(loadSigstorePrivateKey(COSIGN_SIGSTORE_KEY, "", { what: "cosign.key" })).rejects.toThrow(/^cosign.key: cannot decrypt .*wrong passphrase/);
  });

  test("loadSigstorePrivateKey() refuses other PEM labels, naming the label and the key", async () => {
    const { pkcs8 } = nodeKeys("ec", "P-256");
    const err = await loadSigstorePrivateKey(pem("PRIVATE KEY", pkcs8), "x", { what: "my.key" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toMatch(/my.key: a PEM block "PRIVATE KEY" is not an encrypted sigstore private key.*cosign import-key-pair/);
  });

  test("loadSigstorePrivateKey() of malformed PEM throws InvalidConfigurationError", async () => {
    const body = COSIGN_SIGSTORE_KEY.split("\n").slice(1, -2).join("\n");
    const cases: [string, string | Uint8Array, RegExp][] = [
      ["no block", "just text", /no PEM block/],
      ["no end line", COSIGN_SIGSTORE_KEY.replace(/-----END[^\n]*\n/, ""), /has no "-----END ENCRYPTED SIGSTORE PRIVATE KEY-----" line/],
      ["a mismatched end line", COSIGN_SIGSTORE_KEY.replace("END ENCRYPTED SIGSTORE", "END ENCRYPTED COSIGN"), /ends with/],
      ["bad base64", `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----\n${body}!\n-----END ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----\n`, /not valid base64/],
      ["headers", `-----BEGIN ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----\nProc-Type: 4,ENCRYPTED\n\n${body}\n-----END ${SIGSTORE_PRIVATE_KEY_PEM_TYPE}-----\n`, /headers/],
      ["invalid UTF-8", Uint8Array.of(0xff, 0xfe, 0x00), /not UTF-8/],
      ["a non-JSON envelope", pem(SIGSTORE_PRIVATE_KEY_PEM_TYPE, bytes("not json")), /invalid encrypted sigstore key/],
    ];
    for (const [what, input, message] of cases) {
      const err = await loadSigstorePrivateKey(input, COSIGN_TEST_PASSPHRASE).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(InvalidConfigurationError);
      expect((err as Error).message, what).toMatch(message);
    }
  });

  test("loadSigstorePrivateKey() refuses decrypted data that is not a PKCS #8 key", async () => {
    const err = await loadSigstorePrivateKey(await cosignKeyOf(bytes("not DER at all"), "pw"), "pw").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toMatch(/not a PKCS #8 private key/);
  });

  for (const [type, curve, keyType] of [
    ["ec", "P-256", "ecdsa-p256"],
    ["ec", "P-384", "ecdsa-p384"],
    ["ec", "P-521", "ecdsa-p521"],
    ["rsa", undefined, "rsa"],
    ["ed25519", undefined, "ed25519"],
  ] as const) {
    test(`loadSigstorePrivateKey() signs with a ${keyType} key that the matching public key verifies`, async () => {
      const { publicPem, pkcs8 } = nodeKeys(type, curve);
      const key = await loadSigstorePrivateKey(await cosignKeyOf(pkcs8, "pw", COSIGN_PRIVATE_KEY_PEM_TYPE), "pw");
      expect(key.keyType).toBe(keyType);
      const pub = await importSigstorePublicKey(publicPem);
      expect(pub.keyType).toBe(keyType);
      const sig = await key.sign(bytes("payload"));
      expect(await pub.verify(sig, bytes("payload"))).toBe(true);
      expect(await pub.verify(sig, bytes("other"))).toBe(false);
      // The public key derived from the private one is the same key.
      expect(createPublicKey(await key.publicKeyPem()).export({ type: "spki", format: "pem" })).toBe(publicPem);
    });
  }

  test("loadSigstorePrivateKey() refuses an Ed448 key with UnsupportedError naming the type", async () => {
    const { pkcs8 } = nodeKeys("ed448");
    const err = await loadSigstorePrivateKey(await cosignKeyOf(pkcs8, "pw"), "pw").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnsupportedError);
    expect((err as Error).message).toMatch(/Ed448 keys are not supported/);
  });
});

describe("generateSigstoreKeyPair", () => {
  test("generateSigstoreKeyPair() makes an encrypted P-256 key that loads with the passphrase and signs for its public key", async () => {
    const pair = await generateSigstoreKeyPair("my passphrase");
    // The older label, which every cosign and containers/image (skopeo 1.9 included) reads.
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n([A-Za-z0-9+/=]{64}\n)*[A-Za-z0-9+/=]{1,64}\n-----END ENCRYPTED COSIGN PRIVATE KEY-----\n$/);
    expect(pair.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    // Node (OpenSSL) reads the public key as a P-256 key.
    expect(createPublicKey(pair.publicKeyPem).asymmetricKeyDetails).toEqual({ namedCurve: "prime256v1" });
    const key = await loadSigstorePrivateKey(pair.privateKeyPem, "my passphrase");
    expect(key.keyType).toBe("ecdsa-p256");
    expect(await key.publicKeyPem()).toBe(pair.publicKeyPem);
    const pub = await importSigstorePublicKey(pair.publicKeyPem);
    expect(await pub.verify(await key.sign(bytes("p")), bytes("p"))).toBe(true);
    await expect(loadSigstorePrivateKey(pair.privateKeyPem, "my passphrasE")).rejects.toThrow(UnauthorizedError);
  });

  test("generateSigstoreKeyPair() with pemType writes cosign 2.x's ENCRYPTED SIGSTORE PRIVATE KEY label", async () => {
    const pair = await generateSigstoreKeyPair("", { pemType: SIGSTORE_PRIVATE_KEY_PEM_TYPE });
    expect(pair.privateKeyPem).toMatch(/^-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n/);
    expect((await loadSigstorePrivateKey(pair.privateKeyPem, "")).keyType).toBe("ecdsa-p256");
  });

  test("generateSigstoreKeyPair() makes a new key each time", async () => {
    const [a, b] = await Promise.all([generateSigstoreKeyPair("x"), generateSigstoreKeyPair("x")]);
    expect(a.publicKeyPem).not.toBe(b.publicKeyPem);
  });
});

describe("importSigstorePublicKey", () => {
  test("importSigstorePublicKey() reads a PKCS #1 RSA PUBLIC KEY block too", async () => {
    const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const pkcs1 = publicKey.export({ type: "pkcs1", format: "pem" }) as string;
    expect(pkcs1).toMatch(/BEGIN RSA PUBLIC KEY/);
    const pub = await importSigstorePublicKey(pkcs1);
    expect(pub.keyType).toBe("rsa");
    const key = await loadSigstorePrivateKey(await cosignKeyOf(new Uint8Array(privateKey.export({ type: "pkcs8", format: "der" })), "pw"), "pw");
    expect(await pub.verify(await key.sign(bytes("m")), bytes("m"))).toBe(true);
  });

  test("importSigstorePublicKey() ignores text around the first PEM block, as Go's pem.Decode does", async () => {
    const { publicPem } = nodeKeys("ec", "P-256");
    expect((await importSigstorePublicKey(`comment\r\n${publicPem.replaceAll("\n", "\r\n")}trailer`)).keyType).toBe("ecdsa-p256");
  });

  for (const [what, make, name] of [
    ["Ed448", () => nodeKeys("ed448").publicPem, /Ed448 keys are not supported/],
    ["secp256k1", () => nodeKeys("ec", "secp256k1").publicPem, /ECDSA secp256k1 keys are not supported/],
    ["X25519", () => generateKeyPairSync("x25519").publicKey.export({ type: "spki", format: "pem" }) as string, /X25519 keys are not supported/],
  ] as const) {
    test(`importSigstorePublicKey() refuses a ${what} key with UnsupportedError naming it`, async () => {
      const err = await importSigstorePublicKey(make(), "k.pub").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnsupportedError);
      expect((err as Error).message).toMatch(name);
      expect((err as Error).message).toMatch(/^k.pub: /);
    });
  }

  test("importSigstorePublicKey() of malformed keys throws InvalidConfigurationError naming the key", async () => {
    const { publicPem } = nodeKeys("ec", "P-256");
    const der = unb64(publicPem.split("\n").slice(1, -2).join(""));
    const flipped = new Uint8Array(der);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 0xff; // a point not on the curve
    const cases: [string, string, RegExp][] = [
      ["a certificate", pem("CERTIFICATE", der), /a PEM block "CERTIFICATE" is not a public key/],
      ["truncated DER", pem("PUBLIC KEY", der.subarray(0, 40)), /truncated/],
      ["trailing DER", pem("PUBLIC KEY", Uint8Array.of(...der, 0, 0)), /unexpected data/],
      ["garbage", pem("PUBLIC KEY", bytes("garbage!")), /k.pub/],
      ["an invalid point", pem("PUBLIC KEY", flipped), /not a valid ecdsa-p256 key/],
      ["no PEM", "", /no PEM block/],
    ];
    for (const [what, input, message] of cases) {
      const err = await importSigstorePublicKey(input, "k.pub").catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(InvalidConfigurationError);
      expect((err as Error).message, what).toMatch(message);
    }
  });
});
