import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import {
  createSimpleSigningPayload,
  parseSimpleSigningPayload,
  SIMPLE_SIGNING_CREATOR,
  SIMPLE_SIGNING_TYPE,
  STEVEDORE_VERSION,
} from "@stevedore/signature-simple";
import { InvalidDigestError, InvalidReferenceError, SignatureInvalidError } from "@stevedore/types";

const D = "sha256:20bf21ed457b390829cdbeec8795a7bea1626991fda603e0d01b4e7f60427e55";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A payload as containers/image writes it (its test fixtures carry this exact text). */
const GO_PAYLOAD = `{"critical":{"identity":{"docker-reference":"testing/manifest"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"},"optional":{"creator":"atomic 0.1.13-dev","timestamp":1464633474}}`;

function mutate(edit: (p: Record<string, any>) => void): string {
  const p = JSON.parse(GO_PAYLOAD);
  edit(p);
  return JSON.stringify(p);
}

describe("createSimpleSigningPayload()", () => {
  test("writes the containers-signature(5) layout with sorted keys", () => {
    const bytes = createSimpleSigningPayload({ dockerManifestDigest: D, dockerReference: "testing/manifest", creator: "atomic 0.1.13-dev", timestamp: 1464633474 });
    expect(dec.decode(bytes)).toBe(GO_PAYLOAD);
  });

  test("defaults creator to \"Stevedore <version>\" and timestamp to the current second", () => {
    const before = Math.floor(Date.now() / 1000);
    const p = parseSimpleSigningPayload(createSimpleSigningPayload({ dockerManifestDigest: D, dockerReference: "quay.io/a/b:1" }));
    const after = Math.floor(Date.now() / 1000);
    expect(p.creator).toBe(`Stevedore ${STEVEDORE_VERSION}`);
    expect(SIMPLE_SIGNING_CREATOR).toBe(p.creator);
    expect(Number.isInteger(p.timestamp)).toBe(true);
    expect(p.timestamp).toBeGreaterThanOrEqual(before);
    expect(p.timestamp).toBeLessThanOrEqual(after);
  });

  test("STEVEDORE_VERSION is the package version", () => {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };
    expect(STEVEDORE_VERSION).toBe(pkg.version);
  });

  test("null creator and timestamp are left out", () => {
    const bytes = createSimpleSigningPayload({ dockerManifestDigest: D, dockerReference: "a/b", creator: null, timestamp: null });
    expect(JSON.parse(dec.decode(bytes)).optional).toEqual({});
  });

  test("an invalid digest, reference or timestamp throws a typed error", () => {
    expect(() => createSimpleSigningPayload({ dockerManifestDigest: "sha256:abc", dockerReference: "a/b" })).toThrow(InvalidDigestError);
    expect(() => createSimpleSigningPayload({ dockerManifestDigest: D, dockerReference: "quay.io/Upper/case" })).toThrow(InvalidReferenceError);
    expect(() => createSimpleSigningPayload({ dockerManifestDigest: D, dockerReference: "" })).toThrow(SignatureInvalidError);
    expect(() => createSimpleSigningPayload({ dockerManifestDigest: D, dockerReference: "a/b", timestamp: 1.5 })).toThrow(SignatureInvalidError);
  });
});

describe("parseSimpleSigningPayload()", () => {
  test("reads a payload written by containers/image", () => {
    expect(parseSimpleSigningPayload(enc.encode(GO_PAYLOAD))).toEqual({
      dockerManifestDigest: D,
      dockerReference: "testing/manifest",
      creator: "atomic 0.1.13-dev",
      timestamp: 1464633474,
    });
  });

  test("accepts unknown keys in optional and an empty optional", () => {
    expect(parseSimpleSigningPayload(mutate((p) => (p.optional.extra = { any: [1, "thing"] }))).creator).toBe("atomic 0.1.13-dev");
    const bare = parseSimpleSigningPayload(mutate((p) => (p.optional = {})));
    expect(bare.creator).toBeUndefined();
    expect(bare.timestamp).toBeUndefined();
  });

  const rejected: Array<[string, string, RegExp]> = [
    ["an unknown key in critical", mutate((p) => (p.critical.unknown = 1)), /unknown key "unknown" in critical/],
    ["an unknown key in critical.image", mutate((p) => (p.critical.image.extra = "x")), /unknown key "extra" in critical\.image/],
    ["an unknown key in critical.identity", mutate((p) => (p.critical.identity.extra = "x")), /unknown key "extra" in critical\.identity/],
    ["an unknown top-level key", mutate((p) => (p.other = {})), /unknown key "other"/],
    ["a missing optional", mutate((p) => delete p.optional), /missing key "optional"/],
    ["a missing critical.type", mutate((p) => delete p.critical.type), /missing key "type" in critical/],
    ["a wrong critical.type", mutate((p) => (p.critical.type = "cosign container image signature")), /unrecognized signature type/],
    ["a non-string docker-reference", mutate((p) => (p.critical.identity["docker-reference"] = 1)), /docker-reference must be a string, not a number/],
    ["a null creator", mutate((p) => (p.optional.creator = null)), /optional\.creator must be a string, not null/],
    ["a fractional timestamp", mutate((p) => (p.optional.timestamp = 1.5)), /not an integer/],
    ["a string timestamp", mutate((p) => (p.optional.timestamp = "1")), /optional\.timestamp must be a number/],
    ["an invalid digest", mutate((p) => (p.critical.image["docker-manifest-digest"] = "sha256:xyz")), /docker-manifest-digest/],
    ["an array optional", mutate((p) => (p.optional = [])), /optional must be an object, not an array/],
    ["a duplicate key", GO_PAYLOAD.replace('"type":', '"type":"x","type":'), /duplicate key "type"/],
    ["trailing data", GO_PAYLOAD + "{}", /unexpected data after the JSON value/],
    ["a top-level array", "[]", /must be an object, not an array/],
    ["not JSON", "This is not JSON\n", /invalid JSON/],
  ];
  for (const [what, text, message] of rejected) {
    test(`rejects ${what} with SignatureInvalidError`, () => {
      expect(() => parseSimpleSigningPayload(enc.encode(text))).toThrow(SignatureInvalidError);
      expect(() => parseSimpleSigningPayload(enc.encode(text))).toThrow(message);
    });
  }

  test("rejects invalid UTF-8 with SignatureInvalidError", () => {
    expect(() => parseSimpleSigningPayload(new Uint8Array([0x7b, 0xff, 0x7d]))).toThrow(/not valid UTF-8/);
  });

  test("round-trips every payload createSimpleSigningPayload() writes (property)", () => {
    const ref = fc
      .tuple(fc.constantFrom("docker.io", "quay.io", "localhost:5000", "[::1]:5000"), fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)*$/), fc.option(fc.stringMatching(/^\w[\w.-]{0,20}$/)))
      .map(([d, p, t]) => `${d}/${p}${t ? `:${t}` : ""}`);
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9a-f]{64}$/), ref, fc.string(), fc.integer({ min: -1e12, max: 1e12 }), (hex, r, creator, timestamp) => {
        const p = { dockerManifestDigest: `sha256:${hex}`, dockerReference: r, creator, timestamp };
        expect(parseSimpleSigningPayload(createSimpleSigningPayload(p))).toEqual(p);
      }),
    );
  });

  test("returns a payload or throws SignatureInvalidError for any input, never anything else (property)", () => {
    const structured = fc
      .record({
        critical: fc.oneof(
          fc.jsonValue(),
          fc.record({
            type: fc.oneof(fc.constant(SIMPLE_SIGNING_TYPE), fc.jsonValue()),
            image: fc.oneof(fc.record({ "docker-manifest-digest": fc.oneof(fc.constant(D), fc.jsonValue()) }), fc.jsonValue()),
            identity: fc.oneof(fc.record({ "docker-reference": fc.oneof(fc.constant("a/b"), fc.jsonValue()) }), fc.jsonValue()),
          }),
        ),
        optional: fc.oneof(fc.dictionary(fc.constantFrom("creator", "timestamp", "x"), fc.jsonValue()), fc.jsonValue()),
      })
      .map((o) => JSON.stringify(o));
    fc.assert(
      fc.property(fc.oneof(structured, fc.string(), fc.json()), (text) => {
        try {
          parseSimpleSigningPayload(enc.encode(text));
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureInvalidError);
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        try {
          parseSimpleSigningPayload(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(SignatureInvalidError);
        }
      }),
    );
  });
});
