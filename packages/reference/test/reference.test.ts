// Table tests for the non-normalising parser and the With*/Trim helpers.
// Cases ported from distribution/reference reference_test.go (TestReferenceParse,
// TestWithNameFailure, TestDomainAndPath, TestSerialization, TestWithTag,
// TestWithDigest, TestParseNamed), including the rows of its older copies in
// docker/distribution and containers/image.
import { InvalidReferenceError } from "@stevedore/types";
import {
  domain,
  isDigested,
  isNamed,
  isTagged,
  parse,
  parseNamed,
  path,
  trimNamed,
  withDigest,
  withName,
  withTag,
} from "@stevedore/reference";
import { describe, expect, test } from "vitest";

const F64 = "f".repeat(64);
const F128 = "f".repeat(128);

interface ParseCase {
  input: string;
  /** Expected error text (a substring of the message). */
  err?: string;
  repository?: string;
  domain?: string;
  tag?: string;
  digest?: string;
}

const INVALID = "invalid reference format";
const UPPER = "repository name must be lowercase";
const TOO_LONG = "repository name must not be more than 255 characters";
const EMPTY = "repository name must have at least one component";

const parseCases: ParseCase[] = [
  { input: "test_com", repository: "test_com" },
  { input: "test.com:tag", repository: "test.com", tag: "tag" },
  { input: "test.com:5000", repository: "test.com", tag: "5000" },
  { input: "test.com/repo:tag", domain: "test.com", repository: "test.com/repo", tag: "tag" },
  { input: "test:5000/repo", domain: "test:5000", repository: "test:5000/repo" },
  { input: "test:5000/repo:tag", domain: "test:5000", repository: "test:5000/repo", tag: "tag" },
  {
    input: `test:5000/repo@sha256:${F64}`,
    domain: "test:5000",
    repository: "test:5000/repo",
    digest: `sha256:${F64}`,
  },
  {
    input: `test:5000/repo:tag@sha256:${F64}`,
    domain: "test:5000",
    repository: "test:5000/repo",
    tag: "tag",
    digest: `sha256:${F64}`,
  },
  { input: "", err: EMPTY },
  { input: ":justtag", err: INVALID },
  { input: `@sha256:${F64}`, err: INVALID },
  { input: `repo@sha256:${"f".repeat(34)}`, err: "invalid checksum digest length" },
  { input: `validname@invaliddigest:${F64}`, err: "unsupported digest algorithm" },
  { input: "Uppercase:tag", err: UPPER },
  // "Uppercase/lowercase:tag" is taken as domain "Uppercase" and passes (a known FIXME upstream).
  { input: "Uppercase/lowercase:tag", domain: "Uppercase", repository: "Uppercase/lowercase", tag: "tag" },
  { input: "test:5000/Uppercase/lowercase:tag", err: UPPER },
  { input: "lowercase:Uppercase", repository: "lowercase", tag: "Uppercase" },
  { input: "a/".repeat(128) + "a:tag", err: TOO_LONG },
  { input: "domain/" + "a".repeat(256) + ":tag", err: TOO_LONG },
  {
    input: "a/".repeat(127) + "a:tag-puts-this-over-max",
    domain: "a",
    repository: "a/".repeat(127) + "a",
    tag: "tag-puts-this-over-max",
  },
  // distribution/reference v0.6 counts only the path; containers/image (and
  // Stevedore) count the whole name, domain included: 12 + 255 > 255.
  { input: "example.com/" + "a".repeat(255) + ":tag", err: TOO_LONG },
  { input: "example.com/" + "a".repeat(243) + ":tag", domain: "example.com", repository: "example.com/" + "a".repeat(243), tag: "tag" },
  { input: "aa/asdf$$^/aa", err: INVALID },
  { input: "sub-dom1.foo.com/bar/baz/quux", domain: "sub-dom1.foo.com", repository: "sub-dom1.foo.com/bar/baz/quux" },
  {
    input: "sub-dom1.foo.com/bar/baz/quux:some-long-tag",
    domain: "sub-dom1.foo.com",
    repository: "sub-dom1.foo.com/bar/baz/quux",
    tag: "some-long-tag",
  },
  {
    input: "b.gcr.io/test.example.com/my-app:test.example.com",
    domain: "b.gcr.io",
    repository: "b.gcr.io/test.example.com/my-app",
    tag: "test.example.com",
  },
  { input: "xn--n3h.com/myimage:xn--n3h.com", domain: "xn--n3h.com", repository: "xn--n3h.com/myimage", tag: "xn--n3h.com" },
  {
    input: `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${F128}`,
    domain: "xn--7o8h.com",
    repository: "xn--7o8h.com/myimage",
    tag: "xn--7o8h.com",
    digest: `sha512:${F128}`,
  },
  // The older docker/distribution table used a 64-hex sha512, which go-digest rejects.
  { input: `xn--7o8h.com/myimage:xn--7o8h.com@sha512:${F64}`, err: "invalid checksum digest length" },
  { input: "foo_bar.com:8080", repository: "foo_bar.com", tag: "8080" },
  { input: "foo/foo_bar.com:8080", domain: "foo", repository: "foo/foo_bar.com", tag: "8080" },
  { input: "192.168.1.1", repository: "192.168.1.1" },
  { input: "192.168.1.1:tag", repository: "192.168.1.1", tag: "tag" },
  { input: "192.168.1.1:5000", repository: "192.168.1.1", tag: "5000" },
  { input: "192.168.1.1/repo", domain: "192.168.1.1", repository: "192.168.1.1/repo" },
  { input: "192.168.1.1:5000/repo", domain: "192.168.1.1:5000", repository: "192.168.1.1:5000/repo" },
  { input: "192.168.1.1:5000/repo:5050", domain: "192.168.1.1:5000", repository: "192.168.1.1:5000/repo", tag: "5050" },
  { input: "[2001:db8::1]", err: INVALID },
  { input: "[2001:db8::1]:5000", err: INVALID },
  { input: "[2001:db8::1]:tag", err: INVALID },
  { input: "[2001:db8::1]/repo", domain: "[2001:db8::1]", repository: "[2001:db8::1]/repo" },
  { input: "[2001:db8:1:2:3:4:5:6]/repo:tag", domain: "[2001:db8:1:2:3:4:5:6]", repository: "[2001:db8:1:2:3:4:5:6]/repo", tag: "tag" },
  { input: "[2001:db8::1]:5000/repo", domain: "[2001:db8::1]:5000", repository: "[2001:db8::1]:5000/repo" },
  { input: "[2001:db8::1]:5000/repo:tag", domain: "[2001:db8::1]:5000", repository: "[2001:db8::1]:5000/repo", tag: "tag" },
  {
    input: `[2001:db8::1]:5000/repo@sha256:${F64}`,
    domain: "[2001:db8::1]:5000",
    repository: "[2001:db8::1]:5000/repo",
    digest: `sha256:${F64}`,
  },
  {
    input: `[2001:db8::1]:5000/repo:tag@sha256:${F64}`,
    domain: "[2001:db8::1]:5000",
    repository: "[2001:db8::1]:5000/repo",
    tag: "tag",
    digest: `sha256:${F64}`,
  },
  { input: "[2001:db8::]:5000/repo", domain: "[2001:db8::]:5000", repository: "[2001:db8::]:5000/repo" },
  { input: "[::1]:5000/repo", domain: "[::1]:5000", repository: "[::1]:5000/repo" },
  { input: "[fe80::1%eth0]:5000/repo", err: INVALID },
  { input: "[fe80::1%@invalidzone]:5000/repo", err: INVALID },
];

describe("parse() (distribution/reference TestReferenceParse)", () => {
  for (const tc of parseCases) {
    const label = tc.input.length > 60 ? tc.input.slice(0, 60) + "…" : tc.input;
    if (tc.err !== undefined) {
      const err = tc.err;
      test(`parse(${JSON.stringify(label)}) throws "${err}"`, () => {
        expect(() => parse(tc.input)).toThrow(InvalidReferenceError);
        expect(() => parse(tc.input)).toThrow(err);
      });
      continue;
    }
    test(`parse(${JSON.stringify(label)}) returns name ${tc.repository}`, () => {
      const ref = parse(tc.input);
      expect(ref.toString()).toBe(tc.input);
      expect(ref.name).toBe(tc.repository);
      expect(domain(ref)).toBe(tc.domain ?? "");
      expect(ref.domain).toBe(tc.domain ?? "");
      expect(isNamed(ref)).toBe(true);
      if (tc.tag !== undefined) {
        expect(isTagged(ref)).toBe(true);
        expect(ref.tag).toBe(tc.tag);
      } else {
        expect(isTagged(ref)).toBe(false);
        expect("tag" in ref).toBe(false);
      }
      if (tc.digest !== undefined) {
        expect(isDigested(ref)).toBe(true);
        expect(ref.digest).toBe(tc.digest);
      } else {
        expect(isDigested(ref)).toBe(false);
        expect("digest" in ref).toBe(false);
      }
    });
  }
});

const withNameFailures: { input: string; err: string }[] = [
  { input: "", err: INVALID },
  { input: ":justtag", err: INVALID },
  { input: `@sha256:${F64}`, err: INVALID },
  { input: `validname@invaliddigest:${F64}`, err: INVALID },
  { input: "example.com/repo:tag", err: INVALID },
  { input: "example.com/" + "a".repeat(256), err: TOO_LONG },
  { input: "a/".repeat(128) + "a:tag", err: TOO_LONG },
  { input: "aa/asdf$$^/aa", err: INVALID },
];

describe("withName() failures (TestWithNameFailure)", () => {
  for (const tc of withNameFailures) {
    test(`withName(${JSON.stringify(tc.input.slice(0, 40))}) throws "${tc.err}"`, () => {
      expect(() => withName(tc.input)).toThrow(InvalidReferenceError);
      expect(() => withName(tc.input)).toThrow(tc.err);
    });
  }
});

const domainAndPathCases = [
  { input: "test.com/foo", domain: "test.com", path: "foo" },
  { input: "test_com/foo", domain: "", path: "test_com/foo" },
  { input: "test:8080/foo", domain: "test:8080", path: "foo" },
  { input: "test.com:8080/foo", domain: "test.com:8080", path: "foo" },
  { input: "test-com:8080/foo", domain: "test-com:8080", path: "foo" },
  { input: "xn--n3h.com:18080/foo", domain: "xn--n3h.com:18080", path: "foo" },
];

describe("withName() domain and path (TestDomainAndPath, TestSplitHostname)", () => {
  for (const tc of domainAndPathCases) {
    test(`withName(${JSON.stringify(tc.input)}) has domain ${JSON.stringify(tc.domain)} and path ${tc.path}`, () => {
      const named = withName(tc.input);
      expect(domain(named)).toBe(tc.domain);
      expect(path(named)).toBe(tc.path);
      expect(named.toString()).toBe(tc.input);
      expect(isTagged(named) || isDigested(named)).toBe(false);
    });
  }
});

const DIGEST64 = "sha256:1234567890098765432112345667890098765432112345667890098765432112";

describe("JSON serialisation (TestSerialization)", () => {
  const cases = [
    { description: "just a name", input: "example.com:8000/named", name: "example.com:8000/named" },
    { description: "name with a tag", input: "example.com:8000/named:tagged", name: "example.com:8000/named", tag: "tagged" },
    { description: "name with digest", input: `other.com/named@${DIGEST64}`, name: "other.com/named", digest: DIGEST64 },
  ];
  for (const tc of cases) {
    test(`JSON.stringify(parse(…)) round-trips for ${tc.description}`, () => {
      const original = JSON.stringify({ Description: tc.description, Field: tc.input });
      const decoded = JSON.parse(original) as { Description: string; Field: string };
      const ref = parse(decoded.Field);
      expect(ref.name).toBe(tc.name);
      expect(isTagged(ref) ? ref.tag : undefined).toBe(tc.tag);
      expect(isDigested(ref) ? ref.digest : undefined).toBe(tc.digest);
      expect(JSON.stringify({ Description: tc.description, Field: ref })).toBe(original);
    });
  }
  test("parse() of the empty value throws 'must have at least one component'", () => {
    expect(() => parse(JSON.parse('""') as string)).toThrow(EMPTY);
  });
});

// Go's WithDigest only checks the digest grammar, so its tables use a 37-hex
// "sha256:1234567890098765432112345667890098765". Stevedore validates digests
// fully: that digest is rejected, and the combinations are checked with a
// valid one.
const SHORT = "sha256:1234567890098765432112345667890098765";

describe("withTag() (TestWithTag)", () => {
  const cases = [
    { name: "test.com/foo", tag: "tag", combined: "test.com/foo:tag" },
    { name: "foo", tag: "tag2", combined: "foo:tag2" },
    { name: "test.com:8000/foo", tag: "tag4", combined: "test.com:8000/foo:tag4" },
    { name: "test.com:8000/foo", tag: "TAG5", combined: "test.com:8000/foo:TAG5" },
    { name: "test.com:8000/foo", digest: DIGEST64, tag: "TAG5", combined: `test.com:8000/foo:TAG5@${DIGEST64}` },
  ];
  for (const tc of cases) {
    test(`withTag(${tc.name}${tc.digest ? "@…" : ""}, ${tc.tag}) is ${tc.combined.slice(0, 40)}`, () => {
      let named = withName(tc.name);
      if (tc.digest) named = withDigest(named, tc.digest);
      const tagged = withTag(named, tc.tag);
      expect(tagged.toString()).toBe(tc.combined);
      expect(tagged.tag).toBe(tc.tag);
    });
  }
  test("withDigest() rejects the short digest of Go's table with 'invalid checksum digest length'", () => {
    expect(() => withDigest(withName("test.com:8000/foo"), SHORT)).toThrow("invalid checksum digest length");
  });
  test("withTag() replaces an existing tag", () => {
    expect(withTag(parse("foo:old"), "new").toString()).toBe("foo:new");
  });
});

describe("withDigest() (TestWithDigest)", () => {
  const cases = [
    { name: "test.com/foo", digest: DIGEST64, combined: `test.com/foo@${DIGEST64}` },
    { name: "foo", digest: DIGEST64, combined: `foo@${DIGEST64}` },
    { name: "test.com:8000/foo", digest: DIGEST64, combined: `test.com:8000/foo@${DIGEST64}` },
    { name: "test.com:8000/foo", digest: DIGEST64, tag: "latest", combined: `test.com:8000/foo:latest@${DIGEST64}` },
  ];
  for (const tc of cases) {
    test(`withDigest(${tc.name}${tc.tag ? ":" + tc.tag : ""}, …) is ${tc.combined.slice(0, 30)}…`, () => {
      let named = withName(tc.name);
      if (tc.tag) named = withTag(named, tc.tag);
      const digested = withDigest(named, tc.digest);
      expect(digested.toString()).toBe(tc.combined);
      expect(digested.digest).toBe(tc.digest);
    });
    test(`withDigest(${tc.name}, the short digest of Go's table) throws`, () => {
      expect(() => withDigest(withName(tc.name), SHORT)).toThrow(InvalidReferenceError);
    });
  }
  test("withDigest() with a malformed digest throws 'invalid digest format'", () => {
    expect(() => withDigest(withName("foo"), "foo")).toThrow("invalid digest format");
  });
  test("withDigest() with an unsupported algorithm throws 'unsupported digest algorithm'", () => {
    expect(() => withDigest(withName("foo"), `md5:${"a".repeat(32)}`)).toThrow("unsupported digest algorithm");
  });
  test("withDigest() with uppercase hex throws 'invalid checksum digest format'", () => {
    expect(() => withDigest(withName("foo"), `sha256:${"A".repeat(64)}`)).toThrow("invalid checksum digest format");
  });
  test("withTag() with an invalid tag throws 'invalid tag format'", () => {
    expect(() => withTag(withName("foo"), "-foo")).toThrow("invalid tag format");
    expect(() => withTag(withName("foo"), "a".repeat(129))).toThrow("invalid tag format");
  });
});

describe("parseNamed() (TestParseNamed)", () => {
  const cases: { input: string; domain?: string; path?: string; err?: boolean }[] = [
    { input: "test.com/foo", domain: "test.com", path: "foo" },
    { input: "test:8080/foo", domain: "test:8080", path: "foo" },
    { input: "test_com/foo", err: true },
    { input: "test.com", err: true },
    { input: "foo", err: true },
    { input: "library/foo", err: true },
    { input: "docker.io/library/foo", domain: "docker.io", path: "library/foo" },
    // Ambiguous: normalisation adds "library/".
    { input: "docker.io/foo", err: true },
  ];
  for (const tc of cases) {
    if (tc.err) {
      test(`parseNamed(${JSON.stringify(tc.input)}) throws 'repository name must be canonical'`, () => {
        expect(() => parseNamed(tc.input)).toThrow("repository name must be canonical");
      });
    } else {
      test(`parseNamed(${JSON.stringify(tc.input)}) has domain ${tc.domain} and path ${tc.path}`, () => {
        const named = parseNamed(tc.input);
        expect(domain(named)).toBe(tc.domain);
        expect(path(named)).toBe(tc.path);
      });
    }
  }
});

describe("trimNamed()", () => {
  test("trimNamed() drops the tag and the digest", () => {
    const ref = parse(`example.com/a/b:tag@${DIGEST64}`);
    const trimmed = trimNamed(ref);
    expect(trimmed.toString()).toBe("example.com/a/b");
    expect(trimmed.domain).toBe("example.com");
    expect(trimmed.path).toBe("a/b");
    expect(isTagged(trimmed) || isDigested(trimmed)).toBe(false);
  });
});
