// Table tests for normalisation, ported from distribution/reference and
// containers/image normalize_test.go (TestValidateReferenceName,
// TestValidateRemoteName, TestParseRepositoryInfo,
// TestParseReferenceWithTagAndDigest, TestInvalidReferenceComponents,
// TestParseAnyReference, TestNormalizedSplitHostname, TestMatchError,
// TestMatch, TestParseDockerRef) and the older containers/image
// reference_test.go (the same name lists, parsed with XParseNamed).
import { InvalidReferenceError } from "@stevedore/types";
import {
  domain,
  familiarMatch,
  familiarName,
  familiarString,
  isDigested,
  isNamed,
  isTagged,
  parse,
  parseAnyReference,
  parseDockerRef,
  parseNormalizedNamed,
  path,
  splitDockerDomain,
  withDigest,
  withTag,
} from "@stevedore/reference";
import { describe, expect, test } from "vitest";

const validRepoNames = [
  "docker/docker",
  "library/debian",
  "debian",
  "localhost/library/debian",
  "localhost/debian",
  "LOCALDOMAIN/library/debian",
  "LOCALDOMAIN/debian",
  "docker.io/docker/docker",
  "docker.io/library/debian",
  "docker.io/debian",
  "index.docker.io/docker/docker",
  "index.docker.io/library/debian",
  "index.docker.io/debian",
  "127.0.0.1:5000/docker/docker",
  "127.0.0.1:5000/library/debian",
  "127.0.0.1:5000/debian",
  "192.168.0.1",
  "192.168.0.1:80",
  "192.168.0.1:8/debian",
  "192.168.0.2:25000/debian",
  "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
  "[fc00::1]:5000/docker",
  "[fc00::1]:5000/docker/docker",
  "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
  // Valid with a host: the host removes the ambiguity with an image ID.
  "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
  "Docker/docker",
  "DOCKER/docker",
];

const invalidRepoNames = [
  "https://github.com/docker/docker",
  "docker/Docker",
  "-docker",
  "-docker/docker",
  "-docker.io/docker/docker",
  "docker///docker",
  "docker.io/docker/Docker",
  "docker.io/docker///docker",
  "[fc00::1]",
  "[fc00::1]:5000",
  "fc00::1:5000/debian",
  "[fe80::1%eth0]:5000/debian",
  "[2001:db8:3:4::192.0.2.33]:5000/debian",
  "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
];

describe("parseNormalizedNamed() accepts valid names (TestValidateReferenceName)", () => {
  for (const name of validRepoNames) {
    test(`parseNormalizedNamed(${JSON.stringify(name)}) succeeds`, () => {
      const ref = parseNormalizedNamed(name);
      expect(isNamed(ref)).toBe(true);
      // A normalised name always has a domain and parses back to itself.
      expect(ref.domain).not.toBe("");
      expect(parse(ref.toString()).toString()).toBe(ref.toString());
    });
  }
});

describe("parseNormalizedNamed() rejects invalid names (TestValidateReferenceName)", () => {
  for (const name of invalidRepoNames) {
    test(`parseNormalizedNamed(${JSON.stringify(name)}) throws InvalidReferenceError`, () => {
      expect(() => parseNormalizedNamed(name)).toThrow(InvalidReferenceError);
    });
  }
});

const validRepositoryNames = [
  "docker/docker",
  // 64 characters that are not all hex are allowed.
  "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev",
  "docker-rules/docker",
  "docker---rules/docker",
  "doc/docker",
  "d/docker",
  "jess/t",
  "dock__er/docker",
];

const invalidRepositoryNames: [string, string][] = [
  ["docker/Docker", "repository name must be lowercase"],
  ["docker///docker", "invalid reference format"],
  ["1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "cannot specify 64-byte hexadecimal strings"],
  ["-docker/docker", "invalid reference format"],
  ["docker-/docker", "invalid reference format"],
  ["-docker-/docker", "invalid reference format"],
  ["____/____", "invalid reference format"],
  ["_docker/_docker", "invalid reference format"],
  ["dock..er/docker", "invalid reference format"],
  ["dock_.er/docker", "invalid reference format"],
  ["dock-.er/docker", "invalid reference format"],
  ["docker/", "invalid reference format"],
  [
    "this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255_this_is_not_a_valid_namespace_because_its_lenth_is_greater_than_255/docker",
    "repository name must not be more than 255 characters",
  ],
];

describe("parseNormalizedNamed() remote names (TestValidateRemoteName)", () => {
  for (const name of validRepositoryNames) {
    test(`parseNormalizedNamed(${JSON.stringify(name)}) succeeds on docker.io`, () => {
      const ref = parseNormalizedNamed(name);
      expect(ref.domain).toBe("docker.io");
      expect(ref.path).toBe(name.includes("/") ? name : `library/${name}`);
    });
  }
  for (const [name, err] of invalidRepositoryNames) {
    test(`parseNormalizedNamed(${JSON.stringify(name.slice(0, 50))}) throws "${err}"`, () => {
      expect(() => parseNormalizedNamed(name)).toThrow(err);
    });
  }
});

interface RepositoryInfo {
  remoteName: string;
  familiarName: string;
  fullName: string;
  ambiguousName: string;
  domain: string;
}

const repositoryInfo: RepositoryInfo[] = [
  { remoteName: "fooo", familiarName: "localhost/fooo", fullName: "localhost/fooo", ambiguousName: "localhost/fooo", domain: "localhost" },
  { remoteName: "fooo/bar", familiarName: "localhost/fooo/bar", fullName: "localhost/fooo/bar", ambiguousName: "localhost/fooo/bar", domain: "localhost" },
  { remoteName: "fooo", familiarName: "LOCALDOMAIN/fooo", fullName: "LOCALDOMAIN/fooo", ambiguousName: "LOCALDOMAIN/fooo", domain: "LOCALDOMAIN" },
  { remoteName: "fooo/bar", familiarName: "LOCALDOMAIN/fooo/bar", fullName: "LOCALDOMAIN/fooo/bar", ambiguousName: "LOCALDOMAIN/fooo/bar", domain: "LOCALDOMAIN" },
  { remoteName: "fooo/bar", familiarName: "fooo/bar", fullName: "docker.io/fooo/bar", ambiguousName: "index.docker.io/fooo/bar", domain: "docker.io" },
  { remoteName: "library/ubuntu", familiarName: "ubuntu", fullName: "docker.io/library/ubuntu", ambiguousName: "library/ubuntu", domain: "docker.io" },
  { remoteName: "nonlibrary/ubuntu", familiarName: "nonlibrary/ubuntu", fullName: "docker.io/nonlibrary/ubuntu", ambiguousName: "", domain: "docker.io" },
  { remoteName: "other/library", familiarName: "other/library", fullName: "docker.io/other/library", ambiguousName: "", domain: "docker.io" },
  { remoteName: "private/moonbase", familiarName: "127.0.0.1:8000/private/moonbase", fullName: "127.0.0.1:8000/private/moonbase", ambiguousName: "", domain: "127.0.0.1:8000" },
  { remoteName: "privatebase", familiarName: "127.0.0.1:8000/privatebase", fullName: "127.0.0.1:8000/privatebase", ambiguousName: "", domain: "127.0.0.1:8000" },
  { remoteName: "private/moonbase", familiarName: "example.com/private/moonbase", fullName: "example.com/private/moonbase", ambiguousName: "", domain: "example.com" },
  { remoteName: "privatebase", familiarName: "example.com/privatebase", fullName: "example.com/privatebase", ambiguousName: "", domain: "example.com" },
  { remoteName: "private/moonbase", familiarName: "example.com:8000/private/moonbase", fullName: "example.com:8000/private/moonbase", ambiguousName: "", domain: "example.com:8000" },
  { remoteName: "privatebasee", familiarName: "example.com:8000/privatebasee", fullName: "example.com:8000/privatebasee", ambiguousName: "", domain: "example.com:8000" },
  { remoteName: "library/ubuntu-12.04-base", familiarName: "ubuntu-12.04-base", fullName: "docker.io/library/ubuntu-12.04-base", ambiguousName: "index.docker.io/library/ubuntu-12.04-base", domain: "docker.io" },
  { remoteName: "library/foo", familiarName: "foo", fullName: "docker.io/library/foo", ambiguousName: "docker.io/foo", domain: "docker.io" },
  { remoteName: "library/foo/bar", familiarName: "library/foo/bar", fullName: "docker.io/library/foo/bar", ambiguousName: "", domain: "docker.io" },
  { remoteName: "store/foo/bar", familiarName: "store/foo/bar", fullName: "docker.io/store/foo/bar", ambiguousName: "", domain: "docker.io" },
  { remoteName: "bar", familiarName: "Foo/bar", fullName: "Foo/bar", ambiguousName: "", domain: "Foo" },
  { remoteName: "bar", familiarName: "FOO/bar", fullName: "FOO/bar", ambiguousName: "", domain: "FOO" },
];

describe("parseNormalizedNamed() familiar, full and ambiguous names (TestParseRepositoryInfo)", () => {
  for (const tc of repositoryInfo) {
    const inputs = [tc.familiarName, tc.fullName, ...(tc.ambiguousName ? [tc.ambiguousName] : [])];
    for (const input of inputs) {
      test(`parseNormalizedNamed(${JSON.stringify(input)}) is ${tc.fullName}, familiar ${tc.familiarName}`, () => {
        const named = parseNormalizedNamed(input);
        expect(familiarName(named)).toBe(tc.familiarName);
        expect(named.toString()).toBe(tc.fullName);
        expect(named.name).toBe(tc.fullName);
        expect(domain(named)).toBe(tc.domain);
        expect(path(named)).toBe(tc.remoteName);
      });
    }
  }
});

describe("parseNormalizedNamed() with tag and digest (TestParseReferenceWithTagAndDigest)", () => {
  const shortRef = "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
  test("parseNormalizedNamed() keeps both and familiarString() gives back the input", () => {
    const ref = parseNormalizedNamed(shortRef);
    expect(ref.toString()).toBe("docker.io/library/" + shortRef);
    expect(isTagged(ref)).toBe(true);
    expect(isDigested(ref)).toBe(true);
    expect(familiarString(ref)).toBe(shortRef);
  });
});

describe("invalid components (TestInvalidReferenceComponents)", () => {
  test("parseNormalizedNamed('-foo') throws", () => {
    expect(() => parseNormalizedNamed("-foo")).toThrow(InvalidReferenceError);
  });
  test("withTag(busybox, '-foo') throws", () => {
    expect(() => withTag(parseNormalizedNamed("busybox"), "-foo")).toThrow(InvalidReferenceError);
  });
  test("withDigest(busybox, 'foo') throws", () => {
    expect(() => withDigest(parseNormalizedNamed("busybox"), "foo")).toThrow(InvalidReferenceError);
  });
});

const D = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
const H = D.slice("sha256:".length);

describe("parseAnyReference() (TestParseAnyReference)", () => {
  const cases: { reference: string; equivalent: string; digestOnly?: boolean }[] = [
    { reference: "redis", equivalent: "docker.io/library/redis" },
    { reference: "redis:latest", equivalent: "docker.io/library/redis:latest" },
    { reference: "docker.io/library/redis:latest", equivalent: "docker.io/library/redis:latest" },
    { reference: `redis@${D}`, equivalent: `docker.io/library/redis@${D}` },
    { reference: `docker.io/library/redis@${D}`, equivalent: `docker.io/library/redis@${D}` },
    { reference: "dmcgowan/myapp", equivalent: "docker.io/dmcgowan/myapp" },
    { reference: "dmcgowan/myapp:latest", equivalent: "docker.io/dmcgowan/myapp:latest" },
    { reference: "docker.io/mcgowan/myapp:latest", equivalent: "docker.io/mcgowan/myapp:latest" },
    { reference: `dmcgowan/myapp@${D}`, equivalent: `docker.io/dmcgowan/myapp@${D}` },
    { reference: `docker.io/dmcgowan/myapp@${D}`, equivalent: `docker.io/dmcgowan/myapp@${D}` },
    { reference: H, equivalent: D, digestOnly: true },
    { reference: D, equivalent: D, digestOnly: true },
    { reference: H.slice(0, 63), equivalent: `docker.io/library/${H.slice(0, 63)}` },
    { reference: "dbcc1", equivalent: "docker.io/library/dbcc1" },
  ];
  for (const tc of cases) {
    test(`parseAnyReference(${JSON.stringify(tc.reference)}) is ${tc.equivalent}`, () => {
      const ref = parseAnyReference(tc.reference);
      expect(ref.toString()).toBe(tc.equivalent);
      if (tc.digestOnly) {
        expect(isNamed(ref)).toBe(false);
        expect(isDigested(ref)).toBe(true);
        expect(ref.digest).toBe(tc.equivalent);
        expect(ref.name).toBeUndefined();
      } else {
        expect(isNamed(ref)).toBe(true);
        const expected = parse(tc.equivalent);
        expect({ ...ref }).toEqual({ ...expected });
      }
    });
  }
  test("parseAnyReference() of a sha512 digest is a digest reference", () => {
    const d = `sha512:${"ab".repeat(64)}`;
    const ref = parseAnyReference(d);
    expect(isNamed(ref)).toBe(false);
    expect(ref.toString()).toBe(d);
  });
  test("parseAnyReference() of an unsupported digest falls back to a tagged name", () => {
    const ref = parseAnyReference(`md5:${"a".repeat(32)}`);
    expect(ref.toString()).toBe(`docker.io/library/md5:${"a".repeat(32)}`);
  });
});

describe("parseNormalizedNamed() domain and path (TestNormalizedSplitHostname)", () => {
  const cases = [
    { input: "test.com/foo", domain: "test.com", path: "foo" },
    { input: "test_com/foo", domain: "docker.io", path: "test_com/foo" },
    { input: "docker/migrator", domain: "docker.io", path: "docker/migrator" },
    { input: "test.com:8080/foo", domain: "test.com:8080", path: "foo" },
    { input: "test-com:8080/foo", domain: "test-com:8080", path: "foo" },
    { input: "foo", domain: "docker.io", path: "library/foo" },
    { input: "xn--n3h.com/foo", domain: "xn--n3h.com", path: "foo" },
    { input: "xn--n3h.com:18080/foo", domain: "xn--n3h.com:18080", path: "foo" },
    { input: "docker.io/foo", domain: "docker.io", path: "library/foo" },
    { input: "docker.io/library/foo", domain: "docker.io", path: "library/foo" },
    { input: "docker.io/library/foo/bar", domain: "docker.io", path: "library/foo/bar" },
  ];
  for (const tc of cases) {
    test(`parseNormalizedNamed(${JSON.stringify(tc.input)}) has domain ${tc.domain} and path ${tc.path}`, () => {
      const named = parseNormalizedNamed(tc.input);
      expect(domain(named)).toBe(tc.domain);
      expect(path(named)).toBe(tc.path);
    });
  }
});

describe("familiarMatch() (TestMatchError, TestMatch)", () => {
  test("familiarMatch('[-x]', foo) throws 'syntax error in pattern'", () => {
    expect(() => familiarMatch("[-x]", parseAnyReference("foo"))).toThrow("syntax error in pattern");
  });
  const cases = [
    { reference: "foo", pattern: "foo/**/ba[rz]", expected: false },
    { reference: "foo/any/bat", pattern: "foo/**/ba[rz]", expected: false },
    { reference: "foo/a/bar", pattern: "foo/**/ba[rz]", expected: true },
    { reference: "foo/b/baz", pattern: "foo/**/ba[rz]", expected: true },
    { reference: "foo/c/baz:tag", pattern: "foo/**/ba[rz]", expected: true },
    { reference: "foo/c/baz:tag", pattern: "foo/*/baz:tag", expected: true },
    { reference: "foo/c/baz:tag", pattern: "foo/c/baz:tag", expected: true },
    { reference: "example.com/foo/c/baz:tag", pattern: "*/foo/c/baz", expected: true },
    { reference: "example.com/foo/c/baz:tag", pattern: "example.com/foo/c/baz", expected: true },
  ];
  for (const tc of cases) {
    test(`familiarMatch(${JSON.stringify(tc.pattern)}, ${tc.reference}) is ${tc.expected}`, () => {
      expect(familiarMatch(tc.pattern, parseAnyReference(tc.reference))).toBe(tc.expected);
    });
  }
  test("familiarMatch() matches a digest reference against its digest", () => {
    expect(familiarMatch("sha256:*", parseAnyReference(H))).toBe(true);
    expect(familiarMatch("sha512:*", parseAnyReference(H))).toBe(false);
  });
});

describe("parseDockerRef() (TestParseDockerRef)", () => {
  const DG = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
  const cases = [
    { name: "nothing", input: "busybox", expected: "docker.io/library/busybox:latest" },
    { name: "tag only", input: "busybox:latest", expected: "docker.io/library/busybox:latest" },
    { name: "digest only", input: `busybox@${DG}`, expected: `docker.io/library/busybox@${DG}` },
    { name: "path only", input: "library/busybox", expected: "docker.io/library/busybox:latest" },
    { name: "hostname only", input: "docker.io/busybox", expected: "docker.io/library/busybox:latest" },
    { name: "no tag", input: "docker.io/library/busybox", expected: "docker.io/library/busybox:latest" },
    { name: "no path", input: "docker.io/busybox:latest", expected: "docker.io/library/busybox:latest" },
    { name: "no hostname", input: "library/busybox:latest", expected: "docker.io/library/busybox:latest" },
    { name: "full reference with tag", input: "docker.io/library/busybox:latest", expected: "docker.io/library/busybox:latest" },
    { name: "gcr reference without tag", input: "gcr.io/library/busybox", expected: "gcr.io/library/busybox:latest" },
    { name: "both tag and digest", input: `gcr.io/library/busybox:latest@${DG}`, expected: `gcr.io/library/busybox@${DG}` },
  ];
  for (const tc of cases) {
    test(`parseDockerRef(${JSON.stringify(tc.input.slice(0, 40))}) (${tc.name}) is ${tc.expected.slice(0, 40)}`, () => {
      const normalized = parseDockerRef(tc.input);
      expect(normalized.toString()).toBe(tc.expected);
      expect(parse(normalized.toString()).toString()).toBe(tc.expected);
      expect(isTagged(normalized) && isDigested(normalized)).toBe(false);
    });
  }
});

describe("splitDockerDomain()", () => {
  const cases: [string, string, string][] = [
    ["ubuntu", "docker.io", "library/ubuntu"],
    ["ubuntu:latest", "docker.io", "library/ubuntu:latest"],
    ["localhost:5000", "docker.io", "library/localhost:5000"],
    ["localhost/foo", "localhost", "foo"],
    ["index.docker.io/foo", "docker.io", "library/foo"],
    ["index.docker.io/foo/bar", "docker.io", "foo/bar"],
    ["example.com/foo", "example.com", "foo"],
    ["example:5000/foo", "example:5000", "foo"],
    ["[::1]:5000/foo", "[::1]:5000", "foo"],
    ["Foo/bar", "Foo", "bar"],
    ["foo/bar", "docker.io", "foo/bar"],
    ["docker.io/foo", "docker.io", "library/foo"],
  ];
  for (const [input, dom, rest] of cases) {
    test(`splitDockerDomain(${JSON.stringify(input)}) is [${dom}, ${rest}]`, () => {
      expect(splitDockerDomain(input)).toEqual([dom, rest]);
    });
  }
});
