// Table tests for the grammar's regular expressions, ported from
// distribution/reference and containers/image regexp_test.go
// (TestDomainRegexp, TestFullNameRegexp, TestReferenceRegexp,
// TestIdentifierRegexp including the short-identifier cases).
import {
  anchoredDigestRegexp,
  anchoredIdentifierRegexp,
  anchoredNameRegexp,
  anchoredShortIdentifierRegexp,
  anchoredTagRegexp,
  digestRegexp,
  domainRegexp,
  identifierRegexp,
  isFullIdentifier,
  nameRegexp,
  referenceRegexp,
  shortIdentifierRegexp,
  tagRegexp,
} from "@stevedore/reference";
import { describe, expect, test } from "vitest";

interface RegexpCase {
  input: string;
  match: boolean;
  subs?: string[];
}

/** Counts the capturing groups of `re`. */
function numSubexp(re: RegExp): number {
  return (new RegExp(`${re.source}|`).exec("")?.length ?? 1) - 1;
}

/** Checks a match like Go's checkRegexp: the whole input, every group, in order ("" for a group that did not take part). */
function checkRegexp(re: RegExp, tc: RegexpCase): void {
  const m = re.exec(tc.input);
  if (!tc.match) {
    expect(m).toBeNull();
    return;
  }
  expect(m).not.toBeNull();
  const matches = Array.from(m ?? [], (x) => x ?? "");
  expect(matches.length).toBe(numSubexp(re) + 1);
  expect(matches[0]).toBe(tc.input);
  for (const [i, sub] of (tc.subs ?? []).entries()) expect(matches[i + 1]).toBe(sub);
}

const domainCases: RegexpCase[] = [
  { input: "test.com", match: true },
  { input: "test.com:10304", match: true },
  { input: "test.com:http", match: false },
  { input: "localhost", match: true },
  { input: "localhost:8080", match: true },
  { input: "a", match: true },
  { input: "a.b", match: true },
  { input: "ab.cd.com", match: true },
  { input: "a-b.com", match: true },
  { input: "-ab.com", match: false },
  { input: "ab-.com", match: false },
  { input: "ab.c-om", match: true },
  { input: "ab.-com", match: false },
  { input: "ab.com-", match: false },
  { input: "0101.com", match: true },
  { input: "001a.com", match: true },
  { input: "b.gbc.io:443", match: true },
  { input: "b.gbc.io", match: true },
  { input: "xn--n3h.com", match: true },
  { input: "Asdf.com", match: true },
  { input: "192.168.1.1:75050", match: true },
  { input: "192.168.1.1:750050", match: true },
  { input: "[fd00:1:2::3]:75050", match: true },
  { input: "[fd00:1:2::3]75050", match: false },
  { input: "[fd00:1:2::3]::75050", match: false },
  { input: "[fd00:1:2::3%eth0]:75050", match: false },
  { input: "[fd00123123123]:75050", match: true },
  { input: "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:75050", match: true },
  { input: "[2001:0db8:85a3:0000:0000:8a2e:0370:7334]:750505", match: true },
  { input: "fd00:1:2::3:75050", match: false },
];

describe("domainRegexp (TestDomainRegexp)", () => {
  const anchored = new RegExp(`^${domainRegexp.source}$`);
  for (const tc of domainCases) {
    test(`^domainRegexp$ ${tc.match ? "matches" : "does not match"} ${JSON.stringify(tc.input)}`, () => {
      expect(anchored.test(tc.input)).toBe(tc.match);
    });
  }
});

const fullNameCases: RegexpCase[] = [
  { input: "", match: false },
  { input: "short", match: true, subs: ["", "short"] },
  { input: "simple/name", match: true, subs: ["simple", "name"] },
  { input: "library/ubuntu", match: true, subs: ["library", "ubuntu"] },
  { input: "docker/stevvooe/app", match: true, subs: ["docker", "stevvooe/app"] },
  {
    input: "aa/aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb",
    match: true,
    subs: ["aa", "aa/aa/aa/aa/aa/aa/aa/aa/bb/bb/bb/bb/bb/bb"],
  },
  { input: "aa/aa/bb/bb/bb", match: true, subs: ["aa", "aa/bb/bb/bb"] },
  { input: "a/a/a/a", match: true, subs: ["a", "a/a/a"] },
  { input: "a/a/a/a/", match: false },
  { input: "a//a/a", match: false },
  { input: "a", match: true, subs: ["", "a"] },
  { input: "a/aa", match: true, subs: ["a", "aa"] },
  { input: "a/aa/a", match: true, subs: ["a", "aa/a"] },
  { input: "foo.com", match: true, subs: ["", "foo.com"] },
  { input: "foo.com/", match: false },
  { input: "foo.com:8080/bar", match: true, subs: ["foo.com:8080", "bar"] },
  { input: "foo.com:http/bar", match: false },
  { input: "foo.com/bar", match: true, subs: ["foo.com", "bar"] },
  { input: "foo.com/bar/baz", match: true, subs: ["foo.com", "bar/baz"] },
  { input: "localhost:8080/bar", match: true, subs: ["localhost:8080", "bar"] },
  { input: "sub-dom1.foo.com/bar/baz/quux", match: true, subs: ["sub-dom1.foo.com", "bar/baz/quux"] },
  { input: "blog.foo.com/bar/baz", match: true, subs: ["blog.foo.com", "bar/baz"] },
  { input: "a^a", match: false },
  { input: "aa/asdf$$^/aa", match: false },
  { input: "asdf$$^/aa", match: false },
  { input: "aa-a/a", match: true, subs: ["aa-a", "a"] },
  { input: "a/".repeat(128) + "a", match: true, subs: ["a", "a/".repeat(127) + "a"] },
  { input: "a-/a/a/a", match: false },
  { input: "foo.com/a-/a/a", match: false },
  { input: "-foo/bar", match: false },
  { input: "foo/bar-", match: false },
  { input: "foo-/bar", match: false },
  { input: "foo/-bar", match: false },
  { input: "_foo/bar", match: false },
  { input: "foo_bar", match: true, subs: ["", "foo_bar"] },
  { input: "foo_bar.com", match: true, subs: ["", "foo_bar.com"] },
  { input: "foo_bar.com:8080", match: false },
  { input: "foo_bar.com:8080/app", match: false },
  { input: "foo.com/foo_bar", match: true, subs: ["foo.com", "foo_bar"] },
  { input: "____/____", match: false },
  { input: "_docker/_docker", match: false },
  { input: "docker_/docker_", match: false },
  { input: "b.gcr.io/test.example.com/my-app", match: true, subs: ["b.gcr.io", "test.example.com/my-app"] },
  { input: "xn--n3h.com/myimage", match: true, subs: ["xn--n3h.com", "myimage"] },
  { input: "xn--7o8h.com/myimage", match: true, subs: ["xn--7o8h.com", "myimage"] },
  { input: "example.com/xn--7o8h.com/myimage", match: true, subs: ["example.com", "xn--7o8h.com/myimage"] },
  {
    input: "example.com/some_separator__underscore/myimage",
    match: true,
    subs: ["example.com", "some_separator__underscore/myimage"],
  },
  { input: "example.com/__underscore/myimage", match: false },
  { input: "example.com/..dots/myimage", match: false },
  { input: "example.com/.dots/myimage", match: false },
  { input: "example.com/nodouble..dots/myimage", match: false },
  { input: "docker./docker", match: false },
  { input: ".docker/docker", match: false },
  { input: "docker-/docker", match: false },
  { input: "-docker/docker", match: false },
  { input: "do..cker/docker", match: false },
  { input: "do__cker:8080/docker", match: false },
  { input: "do__cker/docker", match: true, subs: ["", "do__cker/docker"] },
  {
    input: "registry.io/foo/project--id.module--name.ver---sion--name",
    match: true,
    subs: ["registry.io", "foo/project--id.module--name.ver---sion--name"],
  },
  { input: "Asdf.com/foo/bar", match: true },
  { input: "Foo/FarB", match: false },
];

describe("anchoredNameRegexp (TestFullNameRegexp)", () => {
  test("anchoredNameRegexp has two capturing groups", () => {
    expect(numSubexp(anchoredNameRegexp)).toBe(2);
  });
  for (const tc of fullNameCases) {
    const label = tc.input.length > 50 ? tc.input.slice(0, 50) + "…" : tc.input;
    test(`anchoredNameRegexp ${tc.match ? "captures" : "rejects"} ${JSON.stringify(label)}`, () => {
      checkRegexp(anchoredNameRegexp, tc);
      // The unanchored nameRegexp must agree on whole-string matches.
      expect(new RegExp(`^(?:${nameRegexp.source})$`).test(tc.input)).toBe(tc.match);
    });
  }
});

const DG = "sha256:be178c0543eb17f5f3043021c9e5fcf30285e557a4fc309cce97ff9ca6182912";

const referenceCases: RegexpCase[] = [
  { input: "registry.com:8080/myapp:tag", match: true, subs: ["registry.com:8080/myapp", "tag", ""] },
  { input: `registry.com:8080/myapp@${DG}`, match: true, subs: ["registry.com:8080/myapp", "", DG] },
  { input: `registry.com:8080/myapp:tag2@${DG}`, match: true, subs: ["registry.com:8080/myapp", "tag2", DG] },
  { input: "registry.com:8080/myapp@sha256:badbadbadbad", match: false },
  { input: "registry.com:8080/myapp:invalid~tag", match: false },
  { input: "bad_hostname.com:8080/myapp:tag", match: false },
  // localhost is the name, 8080 the tag.
  { input: `localhost:8080@${DG}`, match: true, subs: ["localhost", "8080", DG] },
  { input: `localhost:8080/name@${DG}`, match: true, subs: ["localhost:8080/name", "", DG] },
  { input: `localhost:http/name@${DG}`, match: false },
  // localhost alone is a name without a host.
  { input: `localhost@${DG}`, match: true, subs: ["localhost", "", DG] },
  { input: "registry.com:8080/myapp@bad", match: false },
  { input: "registry.com:8080/myapp@2bad", match: false },
];

describe("referenceRegexp (TestReferenceRegexp)", () => {
  test("referenceRegexp has three capturing groups", () => {
    expect(numSubexp(referenceRegexp)).toBe(3);
  });
  for (const tc of referenceCases) {
    test(`referenceRegexp ${tc.match ? "captures" : "rejects"} ${JSON.stringify(tc.input.slice(0, 50))}`, () => {
      checkRegexp(referenceRegexp, tc);
    });
  }
});

const ID = "da304e823d8ca2b9d863a3c897baeb852ba21ea9a9f1414736394ae7fcaf9821";

describe("identifier regexps (TestIdentifierRegexp)", () => {
  const full: RegexpCase[] = [
    { input: ID, match: true },
    { input: "7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", match: false },
    { input: ID.slice(0, 60), match: false },
    { input: `sha256:${ID}`, match: false },
    { input: `${ID}8482`, match: false },
  ];
  for (const tc of full) {
    test(`anchoredIdentifierRegexp and isFullIdentifier() ${tc.match ? "accept" : "reject"} ${tc.input.slice(0, 20)}…`, () => {
      checkRegexp(anchoredIdentifierRegexp, tc);
      expect(isFullIdentifier(tc.input)).toBe(tc.match);
    });
  }
  const short: RegexpCase[] = [
    { input: ID, match: true },
    { input: "7EC43B381E5AEFE6E04EFB0B3F0693FF2A4A50652D64AEC573905F2DB5889A1C", match: false },
    { input: ID.slice(0, 60), match: true },
    { input: `sha256:${ID}`, match: false },
    { input: `${ID}8482`, match: false },
    { input: "da304", match: false },
    { input: "da304e", match: true },
  ];
  for (const tc of short) {
    test(`anchoredShortIdentifierRegexp ${tc.match ? "accepts" : "rejects"} ${tc.input.slice(0, 20)}`, () => {
      checkRegexp(anchoredShortIdentifierRegexp, tc);
    });
  }
  test("identifierRegexp and shortIdentifierRegexp find an ID inside text", () => {
    expect(identifierRegexp.exec(`image ${ID} here`)?.[1]).toBe(ID);
    expect(shortIdentifierRegexp.test("id=da304e")).toBe(true);
  });
});

describe("tag and digest regexps", () => {
  test("anchoredTagRegexp accepts 128 characters and rejects 129", () => {
    expect(anchoredTagRegexp.test("a".repeat(128))).toBe(true);
    expect(anchoredTagRegexp.test("a".repeat(129))).toBe(false);
    expect(anchoredTagRegexp.test(".a")).toBe(false);
    expect(anchoredTagRegexp.test("_a.B-1")).toBe(true);
  });
  test("tagRegexp and digestRegexp find a tag and a digest inside text", () => {
    expect(tagRegexp.test("-.-v1")).toBe(true);
    expect(digestRegexp.exec(`x@${DG}`)?.[0]).toBe(DG);
  });
  test("anchoredDigestRegexp accepts multi-part algorithms and needs 32 hex digits", () => {
    expect(anchoredDigestRegexp.test(`sha256+b64u.x_y-z:${"0".repeat(32)}`)).toBe(true);
    expect(anchoredDigestRegexp.test(`sha256:${"0".repeat(31)}`)).toBe(false);
    expect(anchoredDigestRegexp.test(`1sha:${"0".repeat(32)}`)).toBe(false);
  });
  test("the exported regexps are frozen and keep no state", () => {
    for (const re of [referenceRegexp, nameRegexp, anchoredNameRegexp, domainRegexp, tagRegexp, digestRegexp]) {
      expect(Object.isFrozen(re)).toBe(true);
      expect(re.global || re.sticky).toBe(false);
    }
    expect(referenceRegexp.test("a:b")).toBe(true);
    expect(referenceRegexp.test("a:b")).toBe(true);
    expect(referenceRegexp.lastIndex).toBe(0);
  });
});
