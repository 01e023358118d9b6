// Every failure is an InvalidReferenceError whose message names the input
// and the rule, worded as containers/image words it.
import { InvalidReferenceError, StevedoreError } from "@stevedore/types";
import {
  domain,
  familiarName,
  parse,
  parseAnyReference,
  parseDockerRef,
  parseNamed,
  parseNormalizedNamed,
  withDigest,
  withName,
  withTag,
} from "@stevedore/reference";
import { describe, expect, test } from "vitest";

function caught(f: () => unknown): InvalidReferenceError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidReferenceError);
    expect(e).toBeInstanceOf(StevedoreError);
    expect((e as InvalidReferenceError).code).toBe("ERR_INVALID_REFERENCE");
    return e as InvalidReferenceError;
  }
  throw new Error("expected an InvalidReferenceError, nothing was thrown");
}

describe("error messages", () => {
  const rows: [call: string, f: () => unknown, message: string][] = [
    ["parse('a b')", () => parse("a b"), '"a b": invalid reference format'],
    ["parse('')", () => parse(""), '"": repository name must have at least one component'],
    ["parse('Foo:bar')", () => parse("Foo:bar"), '"Foo:bar": invalid reference format: repository name must be lowercase'],
    [
      "parseNormalizedNamed('Foo:bar')",
      () => parseNormalizedNamed("Foo:bar"),
      '"Foo:bar": invalid reference format: repository name must be lowercase',
    ],
    [
      "parseNormalizedNamed('docker.io/UPPER')",
      () => parseNormalizedNamed("docker.io/UPPER"),
      '"docker.io/UPPER": invalid reference format: repository name must be lowercase',
    ],
    [
      "parseNormalizedNamed(64 hex)",
      () => parseNormalizedNamed("a".repeat(64)),
      `"${"a".repeat(64)}": invalid repository name, cannot specify 64-byte hexadecimal strings`,
    ],
    [
      "parseNamed('busybox')",
      () => parseNamed("busybox"),
      '"busybox": repository name must be canonical (the canonical form is "docker.io/library/busybox")',
    ],
    ["withTag(x, 'a b')", () => withTag(withName("x"), "a b"), '"a b": invalid tag format'],
    ["withDigest(x, 'sha256:1')", () => withDigest(withName("x"), "sha256:1"), '"sha256:1": invalid digest format'],
    [
      "parse('x@md5:…')",
      () => parse(`x@md5:${"0".repeat(32)}`),
      `"x@md5:${"0".repeat(32)}": unsupported digest algorithm "md5" (supported: sha256, sha384, sha512)`,
    ],
    [
      "parse('x@sha384:…64')",
      () => parse(`x@sha384:${"0".repeat(64)}`),
      `"x@sha384:${"0".repeat(64)}": invalid checksum digest length (sha384 needs 96 hex digits, got 64)`,
    ],
    [
      "parse('x@sha256:ABC…')",
      () => parse(`x@sha256:${"A".repeat(64)}`),
      `"x@sha256:${"A".repeat(64)}": invalid checksum digest format (hex digits must be lowercase)`,
    ],
    ["withName('x:y')", () => withName("x:y"), '"x:y": invalid reference format'],
    // Go's strings.ToLower maps U+0130 to "i" and U+212A (Kelvin) to "k".
    ["parse('\u0130')", () => parse("\u0130"), '"\u0130": invalid reference format: repository name must be lowercase'],
    ["parse('\u212a')", () => parse("\u212a"), '"\u212a": invalid reference format: repository name must be lowercase'],
    ["parse('\u00e9')", () => parse("\u00e9"), '"\u00e9": invalid reference format'],
  ];
  for (const [call, f, message] of rows) {
    test(`${call} throws ${JSON.stringify(message.slice(0, 70))}`, () => {
      expect(caught(f).message).toBe(message);
    });
  }

  test("parse() of a 256-character name names the rule", () => {
    const input = "a".repeat(256);
    expect(caught(() => parse(input)).message).toMatch(/repository name must not be more than 255 characters$/);
  });

  test("parseNormalizedNamed() counts the added docker.io/library/ against the 255 characters", () => {
    expect(parseNormalizedNamed("a".repeat(237)).name.length).toBe(255);
    expect(caught(() => parseNormalizedNamed("a".repeat(238))).message).toContain("must not be more than 255 characters");
  });

  test("a very long input is shortened in the message", () => {
    const e = caught(() => parse("!".repeat(100_000)));
    expect(e.message.length).toBeLessThan(400);
    expect(e.message).toContain("…");
  });

  test("a digest error carries the InvalidDigestError as its cause", () => {
    const e = caught(() => parse(`x@sha256:${"0".repeat(63)}`));
    expect((e.cause as Error).name).toBe("InvalidDigestError");
  });

  test("non-string input from plain JavaScript throws 'not a string'", () => {
    const anyParse = parse as (s: unknown) => unknown;
    expect(caught(() => anyParse(42)).message).toBe('"42": not a string');
    expect(caught(() => (parseAnyReference as (s: unknown) => unknown)(undefined)).message).toContain("not a string");
    expect(caught(() => (parseDockerRef as (s: unknown) => unknown)(null)).message).toContain("not a string");
  });

  test("domain() and familiarName() of a digest reference throw 'reference has no name'", () => {
    const d = parseAnyReference("a".repeat(64));
    expect(caught(() => domain(d as never)).message).toContain("reference has no name");
    expect(caught(() => familiarName(d as never)).message).toContain("reference has no name");
    expect(caught(() => withTag(d as never, "x")).message).toContain("reference has no name");
  });
});
