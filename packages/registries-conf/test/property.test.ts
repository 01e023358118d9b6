import fc from "fast-check";
import { stringify } from "smol-toml";
import { describe, expect, test } from "vitest";
import { AmbiguousImageError, InvalidReferenceError } from "@stevedore/types";
import {
  findRegistry,
  prefixMatchLength,
  pullSourcesFor,
  registriesConfigFromText,
  RegistriesConfError,
  RegistryBlockedError,
  resolveShortName,
  type RegistriesConfig,
} from "@stevedore/registries-conf";
import { parseNormalizedNamed } from "@stevedore/reference";

/** Parses; returns the config, or undefined after checking that the failure is a typed one. */
function parseOrTypedError(text: string): RegistriesConfig | undefined {
  try {
    return registriesConfigFromText(text, { source: "prop.conf" });
  } catch (e) {
    expect(e).toBeInstanceOf(RegistriesConfError);
    expect((e as RegistriesConfError).source).toBe("prop.conf");
    return undefined;
  }
}

/** What every successfully parsed configuration must satisfy. */
function checkInvariants(c: RegistriesConfig): void {
  const prefixes = c.registries.map((r) => r.prefix);
  expect(new Set(prefixes).size).toBe(prefixes.length);
  expect([...prefixes].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))).toEqual(prefixes);
  for (const r of c.registries) {
    for (const loc of [r.prefix, r.location, ...r.mirrors.map((m) => m.location)]) {
      expect(loc.endsWith("/")).toBe(false);
      expect(/^https?:\/\//.test(loc)).toBe(false);
    }
    expect(r.prefix).not.toBe("");
    if (r.location === "") expect(r.prefix.startsWith("*.")).toBe(true);
    if (r.prefix.startsWith("*.")) expect(/[/@:]/.test(r.prefix)).toBe(false);
    for (const m of r.mirrors) {
      expect(m.location).not.toBe("");
      expect(["all", "digest-only", "tag-only"]).toContain(m.pullFromMirror);
    }
  }
  expect(c.credentialHelpers.length).toBeGreaterThan(0);
  expect(["enforcing", "permissive", "disabled"]).toContain(c.shortNameMode);
}

const hostish = fc.oneof(
  fc.constantFrom("example.com", "a.io", "localhost:5000", "*.example.com", "*.x/y", "https://a.io", "", "a.io/", "r.io/ns", "[::1]:5000"),
  fc.string({ maxLength: 12 }),
);
const scalar = fc.oneof(hostish, fc.boolean(), fc.integer(), fc.constantFrom("all", "digest-only", "tag-only", "enforcing", "x"));
/** Mostly a well-typed value, sometimes anything. */
function mostly<T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: good, weight: 8 }, { arbitrary: scalar, weight: 1 });
}
const validHost = fc.constantFrom("example.com", "a.io", "localhost:5000", "r.io", "sub.example.com", "[::1]:5000");
const endpoint = fc.record(
  {
    location: mostly(fc.oneof({ arbitrary: validHost, weight: 4 }, { arbitrary: hostish, weight: 1 })),
    prefix: mostly(fc.oneof({ arbitrary: validHost, weight: 3 }, { arbitrary: hostish, weight: 2 })),
    insecure: mostly(fc.boolean()),
    blocked: mostly(fc.boolean()),
    "mirror-by-digest-only": mostly(fc.boolean()),
    "pull-from-mirror": mostly(fc.constantFrom("all", "digest-only", "tag-only", "", "x")),
    proxy: mostly(fc.constantFrom("http://p:1", "socks5://h:2", "ftp://x", "")),
    other: scalar,
  },
  { requiredKeys: [] },
);
const registry = fc.record({ base: endpoint, mirror: fc.option(fc.array(endpoint, { maxLength: 3 }), { nil: undefined }) });
const document = fc.record(
  {
    "unqualified-search-registries": mostly(fc.array(fc.oneof({ arbitrary: validHost, weight: 5 }, { arbitrary: hostish, weight: 1 }), { maxLength: 4 })),
    "credential-helpers": fc.oneof(fc.array(fc.oneof(fc.constantFrom("pass", "containers-auth.json"), fc.string({ maxLength: 6 })), { maxLength: 3 }), scalar),
    "short-name-mode": scalar,
    registry: fc.array(registry, { maxLength: 5 }),
    aliases: fc.dictionary(
      fc.oneof(fc.constantFrom("fedora", "a/b", "quay.io/x", "x:1", "constructor"), fc.string({ maxLength: 8 })),
      fc.oneof(fc.constantFrom("quay.io/x", "docker.io/alpine", "", "bad", "quay.io/x:1"), fc.string({ maxLength: 10 }), fc.integer()),
      { maxKeys: 4 },
    ),
    registries: fc.dictionary(
      fc.constantFrom("search", "insecure", "block"),
      fc.record({ registries: fc.array(hostish, { maxLength: 3 }) }),
      { maxKeys: 2 },
    ),
  },
  { requiredKeys: [] },
);

describe("registries.conf parsing never crashes", () => {
  test("parseRegistriesConf() of arbitrary text returns a config or throws RegistriesConfError", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        const c = parseOrTypedError(text);
        if (c) checkInvariants(c);
      }),
      { numRuns: 500 },
    );
  });

  test("parseRegistriesConf() of TOML-ish lines returns a config or throws RegistriesConfError", () => {
    const line = fc.oneof(
      fc.constantFrom(
        "[[registry]]",
        "[[registry.mirror]]",
        "[aliases]",
        "[registries.search]",
        "[registries.block]",
        "[registries]",
        "registry = {}",
        "mirror = []",
        "x = [[[[1]]]]",
        "insecure = true",
        "blocked = yes",
        "a.b.c = 1",
        "\"\" = \"\"",
      ),
      fc
        .tuple(
          fc.constantFrom("location", "prefix", "insecure", "pull-from-mirror", "unqualified-search-registries", "registries", "short-name-mode", "credential-helpers", "fedora", "proxy"),
          fc.oneof(hostish.map((h) => JSON.stringify(h)), fc.constantFrom("true", "1", "[]", '["a.io"]', '[""]', "{}", "1979-05-27", "inf")),
        )
        .map(([k, v]) => `${k} = ${v}`),
    );
    fc.assert(
      fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
        const c = parseOrTypedError(lines.join("\n"));
        if (c) checkInvariants(c);
      }),
      { numRuns: 1000 },
    );
  });

  test("parseRegistriesConf() of generated documents returns a config or throws RegistriesConfError", () => {
    fc.assert(
      fc.property(document, (doc) => {
        const tomlDoc: Record<string, unknown> = { ...doc };
        if (doc.registry) {
          tomlDoc.registry = doc.registry.map((r) => (r.mirror === undefined ? r.base : { ...r.base, mirror: r.mirror }));
        }
        let text: string;
        try {
          text = stringify(tomlDoc);
        } catch {
          return; // not representable in TOML; nothing to test
        }
        const c = parseOrTypedError(text);
        if (!c) return;
        checkInvariants(c);
        // Lookups on whatever was accepted never throw anything untyped.
        for (const ref of ["example.com/x:1", "a.io/ns/app@sha256:" + "a".repeat(64), "sub.example.com/y", "busybox"]) {
          const parsed = parseNormalizedNamed(ref);
          try {
            const sources = pullSourcesFor(c, parsed);
            expect(sources.length).toBeGreaterThan(0);
            expect(sources.at(-1)!.mirror).toBe(false);
          } catch (e) {
            expect(e instanceof RegistryBlockedError || e instanceof InvalidReferenceError).toBe(true);
          }
        }
        for (const name of ["fedora", "busybox:1", "a/b", "quay.io/x"]) {
          try {
            expect(resolveShortName(c, name).candidates.length).toBeGreaterThan(0);
          } catch (e) {
            expect(e instanceof InvalidReferenceError || e instanceof AmbiguousImageError).toBe(true);
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("prefix matching", () => {
  test("findRegistry() returns an entry whose prefix matches, and the longest one", () => {
    const c = registriesConfigFromText(`
[[registry]]
location = "example.com"
[[registry]]
location = "example.com/ns"
[[registry]]
prefix = "*.example.com"
location = "w.example.net"
[[registry]]
location = "example.com:5000"
`);
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 30 }),
          fc
            .tuple(fc.constantFrom("example.com", "a.example.com", "example.com:5000", "b.example.com:1"), fc.constantFrom("", "/ns", "/ns/x", "/nsx", ":t", "@sha256:0"))
            .map(([h, r]) => h + r),
        ),
        (ref) => {
          const found = findRegistry(c, ref);
          const matching = c.registries.filter((r) => prefixMatchLength(ref, r.prefix) !== -1);
          if (found === undefined) {
            expect(matching).toEqual([]);
          } else {
            expect(prefixMatchLength(ref, found.prefix)).toBeGreaterThanOrEqual(0);
            for (const r of matching) expect(r.prefix.length).toBeLessThanOrEqual(found.prefix.length);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
