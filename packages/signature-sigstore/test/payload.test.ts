import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  SIGSTORE_CREATOR,
  SIGSTORE_SIGNATURE_TYPE,
  createSigstorePayload,
  parseSigstorePayload,
} from "@stevedore/signature-sigstore";
import { InvalidDigestError, InvalidReferenceError, SignatureInvalidError } from "@stevedore/types";
import { COSIGN_GENERATED_PAYLOAD } from "./fixtures.js";
import { bytes, text } from "./helpers.js";

const DIGEST = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

type Obj = Record<string, unknown>;
function valid(): Obj {
  return {
    critical: { identity: { "docker-reference": "example.com/ns/app:1.0" }, image: { "docker-manifest-digest": DIGEST }, type: SIGSTORE_SIGNATURE_TYPE },
    optional: { creator: "someone", timestamp: 1484683104 },
  };
}
const at = (o: Obj, ...path: string[]): Obj => path.reduce((m, k) => m[k] as Obj, o);

describe("createSigstorePayload", () => {
  test("createSigstorePayload() writes the containers/image layout with sorted keys", () => {
    const p = createSigstorePayload({ dockerManifestDigest: DIGEST, dockerReference: "example.com/ns/app:1.0", creator: "CREATOR", timestamp: 1484683104 });
    expect(text(p)).toBe(
      `{"critical":{"identity":{"docker-reference":"example.com/ns/app:1.0"},"image":{"docker-manifest-digest":"${DIGEST}"},"type":"cosign container image signature"},"optional":{"creator":"CREATOR","timestamp":1484683104}}`,
    );
  });

  test("createSigstorePayload() defaults the creator to Stevedore and the timestamp to now", () => {
    const before = Math.floor(Date.now() / 1000);
    const p = parseSigstorePayload(createSigstorePayload({ dockerManifestDigest: DIGEST, dockerReference: "example.com/a:b" }));
    const after = Math.floor(Date.now() / 1000);
    expect(p.creator).toBe(SIGSTORE_CREATOR);
    expect(p.creator).toMatch(/^Stevedore \d/);
    expect(p.timestamp).toBeGreaterThanOrEqual(before);
    expect(p.timestamp).toBeLessThanOrEqual(after);
  });

  test("createSigstorePayload() with null creator and timestamp writes an empty optional object", () => {
    const p = createSigstorePayload({ dockerManifestDigest: DIGEST, dockerReference: "example.com/a:b", creator: null, timestamp: null });
    expect(JSON.parse(text(p)).optional).toEqual({});
  });

  test("createSigstorePayload() refuses an invalid digest, reference or timestamp", () => {
    expect(() => createSigstorePayload({ dockerManifestDigest: "sha256:xyz", dockerReference: "example.com/a:b" })).toThrow(InvalidDigestError);
    expect(() => createSigstorePayload({ dockerManifestDigest: DIGEST, dockerReference: "UPPER/Case" })).toThrow(InvalidReferenceError);
    expect(() => createSigstorePayload({ dockerManifestDigest: DIGEST, dockerReference: "" })).toThrow(SignatureInvalidError);
    expect(() => createSigstorePayload({ dockerManifestDigest: DIGEST, dockerReference: "example.com/a:b", timestamp: 1.5 })).toThrow(/integer/);
  });
});

describe("parseSigstorePayload", () => {
  test("parseSigstorePayload() reads every field of a valid payload", () => {
    expect(parseSigstorePayload(JSON.stringify(valid()))).toEqual({
      dockerManifestDigest: DIGEST,
      dockerReference: "example.com/ns/app:1.0",
      creator: "someone",
      timestamp: 1484683104,
    });
  });

  test('parseSigstorePayload() accepts the "optional": null that cosign writes', () => {
    expect(parseSigstorePayload(bytes(COSIGN_GENERATED_PAYLOAD))).toEqual({
      dockerManifestDigest: "sha256:43955d6857268cc948ae9b370b221091057de83c4962da0826f9a2bdc9bd6b44",
      dockerReference: "192.168.64.2:5000/cosign-signed-multi",
    });
  });

  test("parseSigstorePayload() ignores unknown optional fields and accepts missing optional ones", () => {
    const v = valid();
    at(v, "optional").unexpected = 1;
    delete at(v, "optional").creator;
    delete at(v, "optional").timestamp;
    expect(parseSigstorePayload(JSON.stringify(v))).toEqual({ dockerManifestDigest: DIGEST, dockerReference: "example.com/ns/app:1.0" });
  });

  // The corruptions containers/image's tests reject, each with the field it must name.
  const breakers: [string, (v: Obj) => void, RegExp][] = [
    ["a missing critical", (v) => delete v.critical, /missing key "critical"/],
    ["a missing optional", (v) => delete v.optional, /missing key "optional"/],
    ["an extra top-level key", (v) => (v.unexpected = 1), /unknown key "unexpected"/],
    ["critical not an object", (v) => (v.critical = 1), /critical must be an object/],
    ["optional not an object", (v) => (v.optional = 1), /optional must be an object/],
    ["a missing critical.type", (v) => delete at(v, "critical").type, /missing key "type" in critical/],
    ["a missing critical.image", (v) => delete at(v, "critical").image, /missing key "image" in critical/],
    ["a missing critical.identity", (v) => delete at(v, "critical").identity, /missing key "identity" in critical/],
    ["an unknown critical key", (v) => (at(v, "critical").unexpected = 1), /unknown key "unexpected" in critical/],
    ["a non-string type", (v) => (at(v, "critical").type = 1), /critical.type must be a string/],
    ["another type", (v) => (at(v, "critical").type = "atomic container signature"), /unrecognized signature type "atomic container signature"/],
    ["image not an object", (v) => (at(v, "critical").image = 1), /critical.image must be an object/],
    ["a missing digest", (v) => delete at(v, "critical", "image")["docker-manifest-digest"], /missing key "docker-manifest-digest"/],
    ["an unknown image key", (v) => (at(v, "critical", "image").unexpected = 1), /unknown key "unexpected" in critical.image/],
    ["a non-string digest", (v) => (at(v, "critical", "image")["docker-manifest-digest"] = 1), /critical.image.docker-manifest-digest must be a string/],
    ["an invalid digest", (v) => (at(v, "critical", "image")["docker-manifest-digest"] = "sha256:short"), /docker-manifest-digest/],
    ["identity not an object", (v) => (at(v, "critical").identity = 1), /critical.identity must be an object/],
    ["a missing reference", (v) => delete at(v, "critical", "identity")["docker-reference"], /missing key "docker-reference"/],
    ["an unknown identity key", (v) => (at(v, "critical", "identity").unexpected = 1), /unknown key "unexpected" in critical.identity/],
    ["a non-string reference", (v) => (at(v, "critical", "identity")["docker-reference"] = 1), /critical.identity.docker-reference must be a string/],
    ["a non-string creator", (v) => (at(v, "optional").creator = 1), /optional.creator must be a string/],
    ["a string timestamp", (v) => (at(v, "optional").timestamp = "unexpected"), /optional.timestamp must be a number/],
    ["a fractional timestamp", (v) => (at(v, "optional").timestamp = 0.5), /optional.timestamp 0.5 is not an integer/],
  ];
  for (const [what, corrupt, message] of breakers) {
    test(`parseSigstorePayload() rejects ${what} with SignatureInvalidError`, () => {
      const v = valid();
      corrupt(v);
      expect(() => parseSigstorePayload(JSON.stringify(v))).toThrow(SignatureInvalidError);
      expect(() => parseSigstorePayload(JSON.stringify(v))).toThrow(message);
    });
  }

  test("parseSigstorePayload() rejects duplicate keys, trailing data, non-objects and invalid UTF-8", () => {
    const good = JSON.stringify(valid());
    const dup = good.replace('"type":', `"type":"x","type":`);
    expect(() => parseSigstorePayload(dup)).toThrow(/duplicate key "type"/);
    expect(() => parseSigstorePayload(`${good} {}`)).toThrow(SignatureInvalidError);
    expect(() => parseSigstorePayload("1")).toThrow(/must be an object/);
    expect(() => parseSigstorePayload("&")).toThrow(SignatureInvalidError);
    expect(() => parseSigstorePayload(Uint8Array.of(0x7b, 0xff, 0x7d))).toThrow(/UTF-8/);
  });

  test("parseSigstorePayload() reads what createSigstorePayload() writes (property)", () => {
    const name = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/).filter((s) => s.length > 0 && s.length < 40);
    const tag = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/);
    const hex = fc.stringMatching(/^[0-9a-f]{64}$/);
    fc.assert(
      fc.property(name, name, tag, hex, fc.option(fc.string(), { nil: null }), fc.option(fc.integer({ min: 0, max: 2 ** 40 }), { nil: null }), (a, b, t, h, creator, ts) => {
        const ref = `example.com/${a}/${b}:${t}`;
        const p = parseSigstorePayload(createSigstorePayload({ dockerManifestDigest: `sha256:${h}`, dockerReference: ref, creator, timestamp: ts }));
        expect(p.dockerReference).toBe(ref);
        expect(p.dockerManifestDigest).toBe(`sha256:${h}`);
        expect(p.creator).toBe(creator ?? undefined);
        expect(p.timestamp).toBe(ts ?? undefined);
      }),
    );
  });

  test("parseSigstorePayload() never throws anything but SignatureInvalidError on arbitrary bytes (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        try {
          parseSigstorePayload(b);
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureInvalidError);
        }
      }),
      { numRuns: 500 },
    );
  });

  test("parseSigstorePayload() never throws anything but SignatureInvalidError on arbitrary JSON (property)", () => {
    fc.assert(
      fc.property(fc.json({ depthSize: "medium" }), (j) => {
        try {
          parseSigstorePayload(j);
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureInvalidError);
        }
      }),
      { numRuns: 500 },
    );
  });

  test("parseSigstorePayload() either accepts or rejects with SignatureInvalidError when any field of a valid payload is replaced (property)", () => {
    const paths = [["critical"], ["optional"], ["critical", "type"], ["critical", "image"], ["critical", "identity"], ["critical", "image", "docker-manifest-digest"], ["critical", "identity", "docker-reference"], ["optional", "creator"], ["optional", "timestamp"], ["extra"]];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue(), (path, value) => {
        const v = valid();
        const parent = at(v, ...path.slice(0, -1));
        parent[path[path.length - 1] as string] = value;
        try {
          const p = parseSigstorePayload(JSON.stringify(v));
          // Only replacements that keep the payload valid may pass.
          expect(p.dockerManifestDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
          expect(typeof p.dockerReference).toBe("string");
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureInvalidError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
