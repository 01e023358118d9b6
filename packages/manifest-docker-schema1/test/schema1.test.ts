import { readFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { digestOf, InvalidManifestError, SignatureInvalidError, StevedoreError, UnsupportedError, type Digest } from "@stevedore/types";
import {
  libtrustKeyID,
  parseSchema1Manifest,
  schema1Payload,
  serializeSchema1Manifest,
  serializeSchema1Payload,
  signSchema1Payload,
  verifySchema1Signatures,
  type Schema1FSLayer,
  type Schema1HistoryEntry,
} from "@stevedore/manifest-docker-schema1";

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const enc = new TextEncoder();
const dec = new TextDecoder();
const b64u = (b: Uint8Array | string) => Buffer.from(typeof b === "string" ? enc.encode(b) : b).toString("base64url");

/** A manifest signed by skopeo 1.9 (containers/image + libtrust) with `skopeo copy --format v2s1`. */
const SKOPEO_SIGNED = "skopeo-signed.manifest.json";
/** `skopeo manifest-digest` of it. */
const SKOPEO_SIGNED_DIGEST = "sha256:9ab23247cf5c5584e860454c02df1a1568ef3631987ee4e4a4a358b98028ce3f";
/** containers/image's v2s1 fixture as stored in a public index: reformatted, so its signature no longer matches. */
const BAD_SIGNATURE = "bad-signature.manifest.json";
/** `skopeo manifest-digest` of it (the digest covers the payload, valid signature or not). */
const BAD_SIGNATURE_DIGEST = "sha256:7364fea9d84ee548ab67d4c46c6006289800c98de3fbf8c0a97138dfcc23f000";

const id = (n: number) => n.toString(16).padStart(64, "0");
const D = (c: string) => `sha256:${c.repeat(64)}` as Digest;

function v1(i: number, parent: number | undefined, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id: id(i), ...(parent !== undefined ? { parent: id(parent) } : {}), created: "2020-01-02T03:04:05Z", container_config: { Cmd: ["/bin/sh", "-c", `step ${i}`] }, ...extra });
}

/** A schema 1 document (top layer first), unsigned. */
function unsigned(layers: { blobSum: string; v1Compatibility: string }[], extra: Record<string, unknown> = {}): Uint8Array {
  return enc.encode(
    JSON.stringify({
      schemaVersion: 1,
      name: "library/busybox",
      tag: "latest",
      architecture: "amd64",
      fsLayers: layers.map((l) => ({ blobSum: l.blobSum })),
      history: layers.map((l) => ({ v1Compatibility: l.v1Compatibility })),
      ...extra,
    }),
  );
}

const threeLayers = () => [
  { blobSum: D("c"), v1Compatibility: v1(3, 2, { throwaway: true }) },
  { blobSum: D("b"), v1Compatibility: v1(2, 1) },
  { blobSum: D("a"), v1Compatibility: v1(1, undefined) },
];

describe("parseSchema1Manifest() on real manifests", () => {
  test("reads skopeo's signed manifest: payload digest as skopeo computes it, layers top first", () => {
    const bytes = fixture(SKOPEO_SIGNED);
    const p = parseSchema1Manifest(bytes);
    expect(p.signed).toBe(true);
    expect(digestOf(p.payload)).toBe(SKOPEO_SIGNED_DIGEST);
    expect(digestOf(bytes)).not.toBe(SKOPEO_SIGNED_DIGEST);
    expect(p.manifest.fsLayers.map((l) => l.blobSum)).toEqual([
      "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
      "sha256:a3ed95caeb02ffe68cdd9fd84406680ae93d633cb16422d00e8a7c22955b46d4",
      "sha256:84866ba4a92bf08e21db80359cba4e3533922642e613540180b40664b4ff3050",
    ]);
    expect(p.manifest.v1Compatibility.map((c) => c.throwAway)).toEqual([true, true, false]);
    expect(p.manifest.architecture).toBe("arm64");
    expect(p.jws?.signatures[0]?.algorithm).toBe("ES256");
  });

  test("verifies skopeo's ES256 signature, and its key ID as libtrust computes it", async () => {
    const bytes = fixture(SKOPEO_SIGNED);
    const verified = await verifySchema1Signatures(bytes);
    expect(verified).toHaveLength(1);
    expect(verified[0]?.keyID).toBe(parseSchema1Manifest(bytes).jws?.signatures[0]?.jwk?.kid);
  });

  test("computes the digest of a manifest whose signature is broken, but refuses its signature", async () => {
    const bytes = fixture(BAD_SIGNATURE);
    expect(digestOf(schema1Payload(bytes))).toBe(BAD_SIGNATURE_DIGEST);
    const p = parseSchema1Manifest(bytes);
    expect(p.manifest.name).toBe("mitr/busybox");
    expect(p.manifest.fsLayers).toHaveLength(3);
    await expect(verifySchema1Signatures(bytes)).rejects.toThrow(SignatureInvalidError);
    await expect(verifySchema1Signatures(bytes)).rejects.toThrow(/does not match the manifest/);
  });

  test("refuses a signed manifest whose content was changed after signing", async () => {
    const text = dec.decode(fixture(SKOPEO_SIGNED)).replace('"architecture":"arm64"', '"architecture":"arm65"');
    await expect(verifySchema1Signatures(enc.encode(text))).rejects.toThrow(SignatureInvalidError);
  });
});

describe("parseSchema1Manifest() consistency checks", () => {
  test("reduces consecutive entries with the same ID to one", () => {
    const layers = threeLayers();
    layers.splice(1, 0, { blobSum: D("d"), v1Compatibility: v1(2, 1) });
    const p = parseSchema1Manifest(unsigned(layers));
    // As the Go library: of two consecutive entries with one ID, the upper one goes.
    expect(p.manifest.fsLayers.map((l) => l.blobSum)).toEqual([D("c"), D("b"), D("a")]);
    expect(p.manifest.history).toHaveLength(3);
  });

  test.each<[string, () => Uint8Array, RegExp]>([
    ["history and fsLayers of different lengths", () => enc.encode(dec.decode(unsigned(threeLayers())).replace(`{"blobSum":"${D("a")}"}`, `{"blobSum":"${D("a")}"},{"blobSum":"${D("e")}"}`)), /length of history \(3\) not equal to number of layers \(4\)/],
    ["no layers", () => unsigned([]), /no fsLayers/],
    ["an invalid v1 ID", () => unsigned([{ blobSum: D("a"), v1Compatibility: JSON.stringify({ id: "xyz" }) }]), /image ID "xyz" is invalid/],
    ["a base layer with a parent", () => unsigned([{ blobSum: D("a"), v1Compatibility: v1(1, 9) }]), /parent ID in the base layer/],
    ["a broken parent chain", () => unsigned([{ blobSum: D("b"), v1Compatibility: v1(2, 7) }, { blobSum: D("a"), v1Compatibility: v1(1, undefined) }]), /invalid parent ID: expected 0+1, got "0+7"/],
    ["an ID repeated non-consecutively", () => unsigned([{ blobSum: D("c"), v1Compatibility: v1(1, 2) }, { blobSum: D("b"), v1Compatibility: v1(2, 1) }, { blobSum: D("a"), v1Compatibility: v1(1, undefined) }]), /appears multiple times/],
    ["v1Compatibility that is not JSON", () => unsigned([{ blobSum: D("a"), v1Compatibility: "{" }]), /history\[0\]\.v1Compatibility.*not valid JSON/],
    ["an invalid created time", () => unsigned([{ blobSum: D("a"), v1Compatibility: JSON.stringify({ id: id(1), created: "yesterday" }) }]), /invalid RFC 3339 time/],
    ["schemaVersion 2", () => enc.encode(dec.decode(unsigned(threeLayers())).replace('"schemaVersion":1', '"schemaVersion":2')), /schemaVersion: must be 1/],
    ["a layers field (ambiguous)", () => unsigned(threeLayers(), { layers: [] }), /ambiguous manifest/],
    ["an invalid blobSum", () => unsigned([{ blobSum: "sha256:nothex", v1Compatibility: v1(1, undefined) }]), /fsLayers\[0\]\.blobSum/],
    ["signatures that are not a list", () => unsigned(threeLayers(), { signatures: 1 }), /signatures: must be an array/],
    ["an empty signature list", () => unsigned(threeLayers(), { signatures: [] }), /signatures: the list is empty/],
  ])("refuses %s with InvalidManifestError", (_w, make, message) => {
    expect(() => parseSchema1Manifest(make())).toThrow(InvalidManifestError);
    expect(() => parseSchema1Manifest(make())).toThrow(message);
  });
});

describe("JWS structure", () => {
  test("refuses a document whose signed payload differs from the manifest it shows", async () => {
    const signed = dec.decode(await signSchema1Payload(unsigned(threeLayers())));
    const i = signed.indexOf(',"signatures"');
    const tampered = `${signed.slice(0, i)},"tag":"evil"${signed.slice(i)}`;
    expect(() => parseSchema1Manifest(enc.encode(tampered))).toThrow(/is not the manifest the document contains/);
  });

  test("refuses a formatLength beyond the document", async () => {
    const signed = dec.decode(await signSchema1Payload(unsigned(threeLayers())));
    const sig = JSON.parse(signed).signatures[0];
    sig.protected = b64u(JSON.stringify({ formatLength: 99999999, formatTail: b64u("}") }));
    const doc = JSON.parse(signed);
    doc.signatures = [sig];
    expect(() => parseSchema1Manifest(enc.encode(JSON.stringify(doc)))).toThrow(/beyond the end of the document/);
  });

  test("refuses signatures that disagree on formatLength", async () => {
    const doc = JSON.parse(dec.decode(await signSchema1Payload(unsigned(threeLayers()))));
    const other = { ...doc.signatures[0], protected: b64u(JSON.stringify({ formatLength: 5, formatTail: b64u("}") })) };
    doc.signatures.push(other);
    expect(() => parseSchema1Manifest(enc.encode(JSON.stringify(doc)))).toThrow(/conflicting formatLength/);
  });
});

async function signWith(payload: Uint8Array, keys: CryptoKeyPair, alg: string, params: AlgorithmIdentifier | EcdsaParams, jwkExtra: Record<string, string> = {}) {
  const s = webcrypto.subtle as unknown as SubtleCrypto;
  const formatLength = payload.length - 1;
  const prot = b64u(JSON.stringify({ formatLength, formatTail: b64u("}"), time: "2020-01-01T00:00:00Z" }));
  const sig = new Uint8Array(await s.sign(params, keys.privateKey, enc.encode(`${prot}.${b64u(payload)}`)));
  const jwk = await s.exportKey("jwk", keys.publicKey);
  const header = { jwk: { kty: jwk.kty, ...(jwk.crv ? { crv: jwk.crv, x: jwk.x, y: jwk.y } : { n: jwk.n, e: jwk.e }), kid: await libtrustKeyID(keys.publicKey), ...jwkExtra }, alg };
  const text = dec.decode(payload.subarray(0, formatLength)) + `,"signatures":${JSON.stringify([{ header, signature: b64u(sig), protected: prot }])}}`;
  return enc.encode(text);
}

describe("verifySchema1Signatures()", () => {
  const s = webcrypto.subtle as unknown as SubtleCrypto;
  const payload = () => serializeSchema1Payload(parseSchema1Manifest(unsigned(threeLayers())).manifest);

  test.each([
    ["P-384", "ES384", "SHA-384"],
    ["P-521", "ES512", "SHA-512"],
  ])("verifies an ECDSA %s signature", async (curve, alg, hash) => {
    const keys = (await s.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"])) as CryptoKeyPair;
    const bytes = await signWith(payload(), keys, alg, { name: "ECDSA", hash });
    expect(await verifySchema1Signatures(bytes)).toEqual([{ keyID: await libtrustKeyID(keys.publicKey), algorithm: alg }]);
  });

  test("verifies an RSA RS256 signature", async () => {
    const keys = (await s.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const bytes = await signWith(payload(), keys, "RS256", { name: "RSASSA-PKCS1-v1_5" });
    expect((await verifySchema1Signatures(bytes))[0]?.algorithm).toBe("RS256");
  });

  test("refuses a key ID that does not match the key", async () => {
    const keys = (await s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const bytes = await signWith(payload(), keys, "ES256", { name: "ECDSA", hash: "SHA-256" }, { kid: "AAAA:BBBB" });
    await expect(verifySchema1Signatures(bytes)).rejects.toThrow(/key ID AAAA:BBBB does not match/);
  });

  test("refuses an algorithm that does not fit the key", async () => {
    const keys = (await s.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const bytes = await signWith(payload(), keys, "ES384", { name: "ECDSA", hash: "SHA-256" });
    await expect(verifySchema1Signatures(bytes)).rejects.toThrow(/signs with ES256, not "ES384"/);
  });

  test("reports a certificate-chain-only signature as not supported", async () => {
    const doc = JSON.parse(dec.decode(fixture(SKOPEO_SIGNED)));
    doc.signatures[0].header = { alg: "ES256", x5c: ["MIIB"] };
    const text = dec.decode(fixture(SKOPEO_SIGNED));
    const bytes = enc.encode(text.slice(0, text.indexOf(',"signatures"')) + `,"signatures":${JSON.stringify(doc.signatures)}}`);
    await expect(verifySchema1Signatures(bytes)).rejects.toThrow(UnsupportedError);
  });

  test("gives no signatures for an unsigned manifest", async () => {
    expect(await verifySchema1Signatures(unsigned(threeLayers()))).toEqual([]);
  });
});

describe("serializeSchema1Manifest()", () => {
  test("writes the Go library's field order and signs with a fresh ES256 key", async () => {
    const m = parseSchema1Manifest(unsigned(threeLayers())).manifest;
    const payload = serializeSchema1Payload(m);
    expect(dec.decode(payload).startsWith('{"name":"library/busybox","tag":"latest","architecture":"amd64","fsLayers":[{"blobSum":')).toBe(true);
    expect(dec.decode(payload).endsWith('"schemaVersion":1}')).toBe(true);
    const a = await serializeSchema1Manifest(m);
    const b = await serializeSchema1Manifest(m);
    expect(a).not.toEqual(b);
    const pa = parseSchema1Manifest(a);
    expect(pa.payload).toEqual(payload);
    expect(digestOf(schema1Payload(b))).toBe(digestOf(payload));
    expect(await verifySchema1Signatures(a)).toHaveLength(1);
    const prot = JSON.parse(Buffer.from(pa.jws?.signatures[0]?.protected ?? "", "base64url").toString());
    expect(Object.keys(prot)).toEqual(["formatLength", "formatTail", "time"]);
    expect(prot.formatTail).toBe("fQ");
  });

  test("keeps the indentation of an indented payload, as libtrust", async () => {
    const payload = enc.encode(JSON.stringify(JSON.parse(dec.decode(unsigned(threeLayers()))), null, 3));
    const signed = dec.decode(await signSchema1Payload(payload));
    expect(signed).toContain('\n   "signatures": [\n      {\n         "header": {');
    expect(parseSchema1Manifest(enc.encode(signed)).payload).toEqual(payload);
  });

  test("round-trips random layer chains through sign, parse and verify", async () => {
    const digest = fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}` as Digest);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ blobSum: digest, throwaway: fc.boolean(), by: fc.string() }), { minLength: 1, maxLength: 5 }), async (ls) => {
        const n = ls.length;
        const fsLayers: Schema1FSLayer[] = ls.map((l) => ({ blobSum: l.blobSum }));
        const history: Schema1HistoryEntry[] = ls.map((l, i) => ({
          v1Compatibility: JSON.stringify({ id: id(n - i), ...(i < n - 1 ? { parent: id(n - i - 1) } : {}), created: "2021-01-01T00:00:00Z", container_config: { Cmd: [l.by] }, ...(l.throwaway ? { throwaway: true } : {}) }),
        }));
        const bytes = await serializeSchema1Manifest({ name: "x/y", tag: "t", architecture: "amd64", fsLayers, history });
        const p = parseSchema1Manifest(bytes);
        expect(p.manifest.fsLayers).toEqual(fsLayers);
        expect(p.manifest.v1Compatibility.map((c) => c.throwAway)).toEqual(ls.map((l) => l.throwaway));
        expect(await verifySchema1Signatures(bytes)).toHaveLength(1);
      }),
      { numRuns: 25 },
    );
  });

  test("never crashes on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          parseSchema1Manifest(b);
        } catch (e) {
          expect(e).toBeInstanceOf(StevedoreError);
        }
      }),
    );
  });
});
