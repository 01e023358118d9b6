import { describe, expect, test } from "vitest";
import { InvalidReferenceError } from "@stevedore/types";
import { authKeyLookupOrder, normalizeAuthFileKey, normalizeRegistry, validateCredentialsKey } from "@stevedore/auth";

describe("validateCredentialsKey()", () => {
  test.each([
    ["quay.io", false],
    ["localhost:5000", false],
    ["localhost:5000/foo", true],
    ["quay.io/ns/repo", true],
    ["docker.io", false],
  ])("validateCredentialsKey(%j) accepts it (namespaced: %j)", (key, namespaced) => {
    expect(validateCredentialsKey(key)).toEqual({ namespaced });
  });

  test.each([
    ["https://quay.io", /must not start with http:\/\/ or https:\/\//],
    ["http://quay.io/ns", /must not start with http/],
    ["quay.io/ns/repo@sha256:abc", /must not contain "@"/],
    ["quay.io/ns/repo:tag", /must not contain ":" after the host\[:port\]/],
    ["localhost:5000/foo:bar", /must not contain ":" after/],
    ["", /must not be empty/],
  ])("validateCredentialsKey(%j) throws InvalidReferenceError", (key, message) => {
    expect(() => validateCredentialsKey(key)).toThrow(InvalidReferenceError);
    expect(() => validateCredentialsKey(key)).toThrow(message);
  });
});

describe("normalizeAuthFileKey()", () => {
  test.each([
    ["quay.io", false, "quay.io"],
    ["https://quay.io/v1/", false, "quay.io"],
    ["http://registry.example.com:5000/x/y", false, "registry.example.com:5000"],
    ["quay.io/ns", false, "quay.io/ns"],
    ["quay.io/ns", true, "quay.io"],
    ["https://index.docker.io/v1/", false, "index.docker.io"],
    ["docker.io", false, "index.docker.io"],
    ["registry-1.docker.io", false, "index.docker.io"],
    ["https://registry-1.docker.io/v2/", false, "index.docker.io"],
  ] as const)("normalizeAuthFileKey(%j, legacy %j) is %j", (key, legacy, expected) => {
    expect(normalizeAuthFileKey(key, legacy)).toBe(expected);
  });

  test("normalizeRegistry() maps every Docker Hub name to index.docker.io and leaves others", () => {
    expect(["docker.io", "registry-1.docker.io", "index.docker.io", "quay.io"].map(normalizeRegistry)).toEqual([
      "index.docker.io",
      "index.docker.io",
      "index.docker.io",
      "quay.io",
    ]);
  });
});

describe("authKeyLookupOrder()", () => {
  test("authKeyLookupOrder() goes from the repository up to the host", () => {
    expect(authKeyLookupOrder("quay.io/repo/ns/image", false)).toEqual([
      "quay.io/repo/ns/image",
      "quay.io/repo/ns",
      "quay.io/repo",
      "quay.io",
    ]);
  });

  test("authKeyLookupOrder() of a host is the host", () => {
    expect(authKeyLookupOrder("localhost:5000", false)).toEqual(["localhost:5000"]);
  });

  test("authKeyLookupOrder() of a legacy file is the host only", () => {
    expect(authKeyLookupOrder("quay.io/repo/image", true)).toEqual(["quay.io"]);
  });
});
