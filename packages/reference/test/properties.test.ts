// Property tests: generated valid references round-trip, arbitrary input
// never crashes, familiar forms round-trip through normalisation.
import { InvalidReferenceError } from "@stevedore/types";
import {
  familiarMatch,
  familiarName,
  familiarString,
  isDigested,
  isTagged,
  parse,
  parseAnyReference,
  parseDockerRef,
  parseNamed,
  parseNormalizedNamed,
  pathMatch,
  splitDockerDomain,
  withName,
} from "@stevedore/reference";
import fc from "fast-check";
import { describe, expect, test } from "vitest";

const lowerAlnum = fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789".split(""));
const alnumRun = fc.string({ unit: lowerAlnum, minLength: 1, maxLength: 6 });
const separator = fc.constantFrom(".", "_", "__", "-", "--", "---");

/** A path component: alphanumeric runs joined by separators. */
const pathComponent = fc
  .tuple(alnumRun, fc.array(fc.tuple(separator, alnumRun), { maxLength: 3 }))
  .map(([first, rest]) => first + rest.map(([s, a]) => s + a).join(""));

const remoteName = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((c) => c.join("/"));

const label = fc
  .tuple(
    fc.constantFrom(..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("")),
    fc.string({ unit: fc.constantFrom(..."abcxyzQ09-".split("")), maxLength: 6 }),
    fc.constantFrom(..."az09Z".split("")),
  )
  .map(([a, mid, z]) => (mid === "" ? a : a + mid + z));

const port = fc.option(fc.integer({ min: 1, max: 65535 }).map((p) => `:${p}`), { nil: "" });
const hostName = fc.array(label, { minLength: 1, maxLength: 3 }).map((l) => l.join("."));
const ipv4 = fc.ipV4();
const ipv6 = fc
  .array(fc.string({ unit: fc.constantFrom(..."0123456789abcdefABCDEF".split("")), minLength: 1, maxLength: 4 }), {
    minLength: 2,
    maxLength: 8,
  })
  .map((g) => `[${g.join(":")}]`);
const domainArb = fc.tuple(fc.oneof(hostName, ipv4, ipv6, fc.constant("localhost")), port).map(([h, p]) => h + p);

const tagArb = fc
  .tuple(
    fc.constantFrom(..."aZ09_".split("")),
    fc.string({ unit: fc.constantFrom(..."abcXYZ019_.-".split("")), maxLength: 20 }),
  )
  .map(([a, b]) => a + b);

const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef".split("")), minLength: n, maxLength: n });
const digestArb = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(96).map((h) => `sha384:${h}`),
  hex(128).map((h) => `sha512:${h}`),
);

interface Parts {
  domain: string | undefined;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

const refParts = fc
  .record({
    domain: fc.option(domainArb, { nil: undefined }),
    path: remoteName,
    tag: fc.option(tagArb, { nil: undefined }),
    digest: fc.option(digestArb, { nil: undefined }),
  })
  .filter((p: Parts) => (p.domain === undefined ? p.path.length : p.domain.length + 1 + p.path.length) <= 255);

function text(p: Parts): string {
  let s = p.domain === undefined ? p.path : `${p.domain}/${p.path}`;
  if (p.tag !== undefined) s += `:${p.tag}`;
  if (p.digest !== undefined) s += `@${p.digest}`;
  return s;
}

/** Returns normally or throws InvalidReferenceError; anything else fails the property. */
function onlyInvalidReference(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof InvalidReferenceError)) throw e;
  }
}

describe("round trips", () => {
  test("parse(s).toString() === s for generated valid references, with the generated parts", () => {
    fc.assert(
      fc.property(refParts, (p) => {
        const s = text(p);
        const ref = parse(s);
        expect(ref.toString()).toBe(s);
        expect(ref.name).toBe(p.domain === undefined ? p.path : `${p.domain}/${p.path}`);
        expect(isTagged(ref) ? ref.tag : undefined).toBe(p.tag);
        expect(isDigested(ref) ? ref.digest : undefined).toBe(p.digest);
        if (p.domain !== undefined) {
          expect(ref.domain).toBe(p.domain);
          expect(ref.path).toBe(p.path);
        }
        expect(parse(ref.toString()).toString()).toBe(s);
      }),
      { numRuns: 500 },
    );
  });

  test("withName(name).toString() === name for generated names", () => {
    fc.assert(
      fc.property(refParts, (p) => {
        const name = p.domain === undefined ? p.path : `${p.domain}/${p.path}`;
        expect(withName(name).toString()).toBe(name);
      }),
    );
  });

  test("familiarString ∘ parseNormalizedNamed round-trips", () => {
    fc.assert(
      fc.property(refParts, (p) => {
        let ref;
        try {
          ref = parseNormalizedNamed(text(p));
        } catch (e) {
          // Normalisation can push a name over 255 characters.
          expect(e).toBeInstanceOf(InvalidReferenceError);
          expect((e as Error).message).toContain("255 characters");
          return;
        }
        const familiar = familiarString(ref);
        const again = parseNormalizedNamed(familiar);
        expect(again.toString()).toBe(ref.toString());
        expect(familiarString(again)).toBe(familiar);
        expect(parseNamed(ref.toString()).toString()).toBe(ref.toString());
        // The familiar name, with glob characters escaped, matches the reference.
        expect(familiarMatch(familiarName(ref).replace(/[*?[\]\\]/g, "\\$&"), ref)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  test("parseDockerRef() never keeps both tag and digest and always has one of them", () => {
    fc.assert(
      fc.property(refParts, (p) => {
        onlyInvalidReference(() => {
          const ref = parseDockerRef(text(p));
          expect(isTagged(ref) !== isDigested(ref)).toBe(true);
          expect(parse(ref.toString()).toString()).toBe(ref.toString());
        });
      }),
    );
  });
});

/** Strings built from the characters the grammar cares about, to reach deep branches. */
const referenceish = fc.string({
  unit: fc.constantFrom(..."aZ09:/@.-_[]%sha256:ffffF ".split(""), "sha256:", "library/", "docker.io/", "f".repeat(32), "İ"),
  maxLength: 40,
});

describe("hostile input", () => {
  const parsers: [string, (s: string) => unknown][] = [
    ["parse", parse],
    ["parseNormalizedNamed", parseNormalizedNamed],
    ["parseNamed", parseNamed],
    ["parseDockerRef", parseDockerRef],
    ["parseAnyReference", parseAnyReference],
    ["withName", withName],
    ["splitDockerDomain", splitDockerDomain],
  ];
  for (const [name, f] of parsers) {
    test(`${name}() returns or throws InvalidReferenceError for arbitrary strings`, () => {
      fc.assert(
        fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), referenceish), (s) => {
          onlyInvalidReference(() => f(s));
        }),
        { numRuns: 1000 },
      );
    });
  }

  test("pathMatch() and familiarMatch() return or throw InvalidReferenceError for arbitrary patterns", () => {
    const ref = parseNormalizedNamed("example.com/a/b:c");
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."ab/*?[]^-\\:c.".split("")), maxLength: 12 }), fc.string(), (pattern, name) => {
        onlyInvalidReference(() => pathMatch(pattern, name));
        onlyInvalidReference(() => familiarMatch(pattern, ref));
      }),
      { numRuns: 1000 },
    );
  });

  test("parse() of long adversarial input finishes (no catastrophic backtracking)", () => {
    for (const s of [
      "a-".repeat(50_000) + "!",
      "a.".repeat(50_000) + "a/!",
      "a".repeat(100_000) + "@",
      "a/" + "a:1".repeat(30_000),
      "[" + ":".repeat(100_000),
    ]) {
      expect(() => parse(s)).toThrow(InvalidReferenceError);
    }
  });
});
