import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { parsePolicy, type Policy } from "@stevedore/policy";
import { createTransportRegistry, InvalidConfigurationError } from "@stevedore/types";
import { testDirTransport, testDockerTransport } from "./helpers.js";

const transports = createTransportRegistry([testDockerTransport, testDirTransport]);

/** A policy using every requirement type and identity matcher. */
const FULL = {
  default: [{ type: "reject" }],
  transports: {
    dir: { "": [{ type: "insecureAcceptAnything" }], "/srv/images": [{ type: "reject" }] },
    somethingUnknown: { "any scope at all": [{ type: "insecureAcceptAnything" }] },
    docker: {
      "quay.io/open": [{ type: "insecureAcceptAnything" }],
      "quay.io/prod": [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/keys/prod.gpg" }],
      "quay.io/multi": [{ type: "signedBy", keyType: "GPGKeys", keyPaths: ["/keys/a.gpg", "/keys/b.gpg"], signedIdentity: { type: "matchRepository" } }],
      "quay.io/inline": [{ type: "signedBy", keyType: "GPGKeys", keyData: "aGVsbG8=", signedIdentity: { type: "matchExact" } }],
      "quay.io/x509": [{ type: "signedBy", keyType: "X509Certificates", keyPath: "/keys/cert.pem" }],
      "quay.io/exactref": [
        { type: "signedBy", keyType: "GPGKeys", keyPath: "/k", signedIdentity: { type: "exactReference", dockerReference: "quay.io/vendor/app:1.0" } },
      ],
      "quay.io/exactrepo": [
        { type: "signedBy", keyType: "GPGKeys", keyPath: "/k", signedIdentity: { type: "exactRepository", dockerRepository: "quay.io/vendor/app" } },
      ],
      "mirror.example.com:5000/vendor": [
        {
          type: "signedBy",
          keyType: "signedByGPGKeys",
          keyPath: "/k",
          signedIdentity: { type: "remapIdentity", prefix: "mirror.example.com:5000/vendor", signedPrefix: "vendor.example.com" },
        },
      ],
      "quay.io/base": [{ type: "signedBaseLayer", baseLayerIdentity: { type: "exactRepository", dockerRepository: "registry.example.com/base" } }],
      "quay.io/cosign": [
        { type: "sigstoreSigned", keyPath: "/keys/cosign.pub", signedIdentity: { type: "matchRepository" } },
        { type: "sigstoreSigned", keyDatas: ["a2V5MQ==", "a2V5Mg=="] },
      ],
      "quay.io/keyless": [
        {
          type: "sigstoreSigned",
          fulcio: { caPath: "/ca.pem", oidcIssuer: "https://issuer.example", subjectEmail: "me@example.com" },
          rekorPublicKeyPath: "/rekor.pub",
        },
      ],
      "quay.io/pki": [{ type: "sigstoreSigned", pki: { caRootsData: "cm9vdA==", subjectHostname: "build.example.com" } }],
      "*.example.org": [{ type: "insecureAcceptAnything" }],
    },
  },
};

describe("parsePolicy()", () => {
  test("reads every requirement type and identity matcher, with defaults filled in", () => {
    const p: Policy = parsePolicy(JSON.stringify(FULL), { transports });
    expect(p.default).toEqual([{ type: "reject" }]);
    const d = p.transports.docker ?? {};
    expect(d["quay.io/prod"]).toEqual([
      { type: "signedBy", keyType: "GPGKeys", keyPath: "/keys/prod.gpg", signedIdentity: { type: "matchRepoDigestOrExact" } },
    ]);
    expect(d["quay.io/inline"]?.[0]).toMatchObject({ keyData: new TextEncoder().encode("hello"), signedIdentity: { type: "matchExact" } });
    expect(d["quay.io/multi"]?.[0]).toMatchObject({ keyPaths: ["/keys/a.gpg", "/keys/b.gpg"] });
    expect(d["mirror.example.com:5000/vendor"]?.[0]).toMatchObject({
      keyType: "signedByGPGKeys",
      signedIdentity: { type: "remapIdentity", prefix: "mirror.example.com:5000/vendor", signedPrefix: "vendor.example.com" },
    });
    expect(d["quay.io/cosign"]?.[1]).toEqual({
      type: "sigstoreSigned",
      keyDatas: [new TextEncoder().encode("key1"), new TextEncoder().encode("key2")],
      signedIdentity: { type: "matchRepoDigestOrExact" },
    });
    expect(d["quay.io/keyless"]?.[0]).toMatchObject({ fulcio: { caPath: "/ca.pem", oidcIssuer: "https://issuer.example" }, rekorPublicKeyPath: "/rekor.pub" });
    expect(d["quay.io/pki"]?.[0]).toMatchObject({ pki: { caRootsData: new TextEncoder().encode("root"), subjectHostname: "build.example.com" } });
    expect(d["quay.io/base"]?.[0]).toEqual({ type: "signedBaseLayer", baseLayerIdentity: { type: "exactRepository", dockerRepository: "registry.example.com/base" } });
    expect(Object.keys(p.transports).sort()).toEqual(["dir", "docker", "somethingUnknown"]);
  });

  test("a policy without transports has only the default", () => {
    const p = parsePolicy('{"default":[{"type":"insecureAcceptAnything"}]}');
    expect(p.default).toEqual([{ type: "insecureAcceptAnything" }]);
    expect(Object.keys(p.transports)).toEqual([]);
  });

  test("keys such as __proto__ are plain data", () => {
    const p = parsePolicy('{"default":[{"type":"reject"}],"transports":{"__proto__":{"":[{"type":"reject"}]}}}');
    expect(Object.keys(p.transports)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  const bad: Array<[string, unknown, string]> = [
    ["a missing default", { transports: {} }, 'invalid policy: (top level): the "default" policy is missing'],
    ["an empty default", { default: [] }, "default: the list of policy requirements must not be empty"],
    ["an unknown top-level field", { default: [{ type: "reject" }], extra: 1 }, 'extra: unknown field "extra" in the policy'],
    ["a non-array scope", { default: [{ type: "reject" }], transports: { docker: { "quay.io": {} } } }, 'transports.docker["quay.io"]: expected an array of policy requirements, found an object'],
    ["an empty scope list", { default: [{ type: "reject" }], transports: { docker: { "quay.io": [] } } }, 'transports.docker["quay.io"]: the list of policy requirements must not be empty'],
    ["a keyPath of the wrong type", { default: [{ type: "reject" }], transports: { docker: { "quay.io": [{ type: "signedBy", keyType: "GPGKeys", keyPath: 5 }] } } }, 'transports.docker["quay.io"][0].keyPath: expected a string, found a number'],
    ["an empty keyPath", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "" }] }, "default[0].keyPath: must not be empty"],
    ["keyPath and keyData together", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", keyData: "YQ==" }] }, "default[0]: exactly one of keyPath, keyPaths, keyData must be present, found keyPath and keyData"],
    ["no key at all", { default: [{ type: "signedBy", keyType: "GPGKeys" }] }, "default[0]: exactly one of keyPath, keyPaths, keyData must be present, none is"],
    ["an empty keyPaths", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPaths: [] }] }, "default[0].keyPaths: must contain at least one entry"],
    ["a missing keyType", { default: [{ type: "signedBy", keyPath: "/a" }] }, 'default[0]: missing field "keyType"'],
    ["an unknown keyType", { default: [{ type: "signedBy", keyType: "PGP", keyPath: "/a" }] }, 'default[0].keyType: unrecognized keyType "PGP"'],
    ["invalid base64 keyData", { default: [{ type: "signedBy", keyType: "GPGKeys", keyData: "not base64!" }] }, "default[0].keyData: not valid base64"],
    ["an unknown signedBy field", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", keyPath2: "/b" }] }, 'default[0].keyPath2: unknown field "keyPath2" in a signedBy requirement'],
    ["an unknown requirement type", { default: [{ type: "trustMe" }] }, 'default[0].type: unknown policy requirement type "trustMe"'],
    ["a requirement without type", { default: [{}] }, 'default[0]: missing field "type"'],
    ["a field on reject", { default: [{ type: "reject", why: "x" }] }, 'default[0].why: unknown field "why" in a reject requirement'],
    ["an unknown identity type", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", signedIdentity: { type: "matchAnything" } }] }, 'default[0].signedIdentity.type: unknown identity match type "matchAnything"'],
    ["exactReference without tag or digest", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", signedIdentity: { type: "exactReference", dockerReference: "quay.io/a/b" } }] }, "default[0].signedIdentity.dockerReference: \"quay.io/a/b\" has neither a tag nor a digest"],
    ["an invalid exactRepository", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", signedIdentity: { type: "exactRepository", dockerRepository: "Not/Valid" } }] }, "default[0].signedIdentity.dockerRepository: invalid docker repository"],
    ["an invalid remapIdentity prefix", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", signedIdentity: { type: "remapIdentity", prefix: "quay.io/UPPER", signedPrefix: "quay.io" } }] }, "default[0].signedIdentity.prefix: \"quay.io/UPPER\" is not a host[:port], namespace or repository"],
    ["a tagged remapIdentity signedPrefix", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", signedIdentity: { type: "remapIdentity", prefix: "quay.io", signedPrefix: "quay.io/a:1" } }] }, "default[0].signedIdentity.signedPrefix"],
    ["a remapIdentity without signedPrefix", { default: [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/a", signedIdentity: { type: "remapIdentity", prefix: "quay.io" } }] }, 'default[0].signedIdentity: missing field "signedPrefix"'],
    ["signedBaseLayer without identity", { default: [{ type: "signedBaseLayer" }] }, 'default[0]: missing field "baseLayerIdentity"'],
    ["sigstoreSigned with two key sources", { default: [{ type: "sigstoreSigned", keyPath: "/a", keyData: "YQ==" }] }, "default[0]: exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, pki must be present, found keyPath and keyData"],
    ["fulcio without rekor", { default: [{ type: "sigstoreSigned", fulcio: { caPath: "/c", oidcIssuer: "i", subjectEmail: "e" } }] }, "default[0]: fulcio needs one of rekorPublicKeyPath"],
    ["fulcio without oidcIssuer", { default: [{ type: "sigstoreSigned", fulcio: { caPath: "/c", subjectEmail: "e" }, rekorPublicKeyData: "YQ==" }] }, 'default[0].fulcio: missing field "oidcIssuer"'],
    ["two rekor keys", { default: [{ type: "sigstoreSigned", keyPath: "/a", rekorPublicKeyPath: "/r", rekorPublicKeyData: "YQ==" }] }, "default[0]: at most one of rekorPublicKeyPath"],
    ["pki without a subject", { default: [{ type: "sigstoreSigned", pki: { caRootsPath: "/r" } }] }, "default[0].pki: at least one of subjectEmail and subjectHostname must be present"],
    ["an empty keyDatas entry", { default: [{ type: "sigstoreSigned", keyDatas: [""] }] }, "default[0].keyDatas[0]: must not be empty"],
    ["a scope the transport refuses", { default: [{ type: "reject" }], transports: { dir: { "relative/path": [{ type: "reject" }] } } }, 'transports.dir["relative/path"]: invalid scope for the dir transport'],
    ["a docker scope the transport refuses", { default: [{ type: "reject" }], transports: { docker: { "Bad Scope": [{ type: "reject" }] } } }, 'transports.docker["Bad Scope"]: invalid scope for the docker transport'],
    ["a non-object transports", { default: [{ type: "reject" }], transports: [] }, "transports: expected an object, found an array"],
  ];
  for (const [what, doc, message] of bad) {
    test(`rejects ${what} with InvalidConfigurationError naming the JSON path`, () => {
      const run = () => parsePolicy(JSON.stringify(doc), { transports });
      expect(run).toThrow(InvalidConfigurationError);
      expect(run).toThrow(message);
    });
  }

  test("rejects duplicate keys, trailing data and invalid JSON, naming where", () => {
    expect(() => parsePolicy('{"default":[{"type":"reject"}],"default":[{"type":"reject"}]}')).toThrow(/at default .*duplicate key "default"/);
    expect(() => parsePolicy('{"default":[{"type":"reject"}],"transports":{"docker":{"a.io":[{"type":"reject","type":"reject"}]}}}')).toThrow(
      /at transports\.docker\["a\.io"\]\[0\]\.type .*duplicate key "type"/,
    );
    expect(() => parsePolicy('{"default":[{"type":"reject"}]} {}')).toThrow(/unexpected data after the JSON value/);
    expect(() => parsePolicy('{"default":[{"type":"reject"},]}')).toThrow(InvalidConfigurationError);
    expect(() => parsePolicy("")).toThrow(InvalidConfigurationError);
  });

  test("names the source file in errors", () => {
    expect(() => parsePolicy("{}", { source: "/etc/containers/policy.json" })).toThrow(/invalid policy in \/etc\/containers\/policy\.json: /);
  });

  test("returns a policy or throws InvalidConfigurationError for any input, never anything else (property)", () => {
    const identity = fc.oneof(
      fc.record({ type: fc.constantFrom("matchExact", "matchRepoDigestOrExact", "matchRepository", "exactReference", "exactRepository", "remapIdentity", "x") }),
      fc.record({ type: fc.constant("exactReference"), dockerReference: fc.oneof(fc.constantFrom("quay.io/a/b:1", "a/b", ""), fc.string()) }),
      fc.record({ type: fc.constant("remapIdentity"), prefix: fc.oneof(fc.constantFrom("quay.io", "quay.io/a", "a"), fc.string()), signedPrefix: fc.string() }),
      fc.jsonValue(),
    );
    const requirement = fc.oneof(
      fc.record({ type: fc.constantFrom("reject", "insecureAcceptAnything") }),
      fc.record(
        {
          type: fc.constantFrom("signedBy", "sigstoreSigned", "signedBaseLayer"),
          keyType: fc.oneof(fc.constantFrom("GPGKeys", "X509Certificates"), fc.jsonValue()),
          keyPath: fc.oneof(fc.constant("/k"), fc.jsonValue()),
          keyPaths: fc.oneof(fc.array(fc.string()), fc.jsonValue()),
          keyData: fc.oneof(fc.base64String(), fc.string(), fc.jsonValue()),
          keyDatas: fc.array(fc.base64String()),
          fulcio: fc.dictionary(fc.constantFrom("caPath", "caData", "oidcIssuer", "subjectEmail", "x"), fc.oneof(fc.string(), fc.base64String())),
          rekorPublicKeyData: fc.base64String(),
          pki: fc.dictionary(fc.constantFrom("caRootsPath", "caRootsData", "subjectEmail", "subjectHostname"), fc.string()),
          signedIdentity: identity,
          baseLayerIdentity: identity,
        },
        { requiredKeys: ["type"] },
      ),
      fc.jsonValue(),
    );
    const policy = fc
      .record(
        {
          default: fc.oneof(fc.array(requirement, { maxLength: 3 }), fc.jsonValue()),
          transports: fc.oneof(
            fc.dictionary(fc.constantFrom("docker", "dir", "other"), fc.dictionary(fc.oneof(fc.constantFrom("", "quay.io", "/abs/path", "*.io"), fc.string()), fc.array(requirement, { maxLength: 2 }))),
            fc.jsonValue(),
          ),
        },
        { requiredKeys: [] },
      )
      .map((o) => JSON.stringify(o));
    fc.assert(
      fc.property(fc.oneof(policy, fc.json(), fc.string()), (text) => {
        try {
          const p = parsePolicy(text, { transports });
          expect(p.default.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidConfigurationError);
        }
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.uint8Array(), (bytes) => {
        try {
          parsePolicy(bytes);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidConfigurationError);
        }
      }),
    );
  });
});
