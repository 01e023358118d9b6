import { describe, expect, test } from "vitest";
import { AmbiguousImageError, InvalidReferenceError } from "@stevedore/types";
import {
  isShortName,
  parseShortNameAliasesConf,
  registriesConfigFromText,
  resolveShortName,
  resolveShortNameLocally,
} from "@stevedore/registries-conf";

const D = `sha256:${"c".repeat(64)}`;

describe("isShortName()", () => {
  test.each([
    ["fedora", true],
    ["fedora:38", true],
    ["library/busybox", true],
    ["library/busybox:1.36", true],
    [`alpine@${D}`, true],
    ["a/b/c", true],
    ["quay.io/image", false],
    ["localhost/image:tag", false],
    ["server.org:5000/lib/image", false],
    ["host:5000/x", false],
    ["docker.io/library/busybox", false],
    ["", false],
    ["UPPER", false],
    ["not a name", false],
  ] as const)("isShortName(%j) is %j", (name, expected) => {
    expect(isShortName(name)).toBe(expected);
  });
});

const config = registriesConfigFromText(
  `
unqualified-search-registries = ["registry.fedoraproject.org", "quay.io", "docker.io"]

[aliases]
fedora = "registry.fedoraproject.org/fedora"
"library/alp" = "docker.io/alpine"
hidden = "quay.io/hidden"
`,
  { source: "/etc/containers/registries.conf" },
);
const oneRegistry = registriesConfigFromText('unqualified-search-registries = ["quay.io"]', { source: "/one.conf" });
const noRegistry = registriesConfigFromText("", { source: "/none.conf" });

describe("resolveShortName()", () => {
  test("resolveShortName() returns a fully-qualified name as its only candidate, with :latest added", () => {
    const r = resolveShortName(config, "quay.io/podman/stable");
    expect(r.rationale).toBe("fully-qualified");
    expect(r.candidates.map(String)).toEqual(["quay.io/podman/stable:latest"]);
    expect(r.description).toBe("");
  });

  test("resolveShortName() keeps the tag of a fully-qualified name", () => {
    expect(resolveShortName(config, "localhost/x:1").candidates.map(String)).toEqual(["localhost/x:1"]);
  });

  test.each([
    ["fedora", "registry.fedoraproject.org/fedora:latest"],
    ["fedora:38", "registry.fedoraproject.org/fedora:38"],
    [`fedora@${D}`, `registry.fedoraproject.org/fedora@${D}`],
    [`fedora:38@${D}`, `registry.fedoraproject.org/fedora:38@${D}`],
    ["library/alp:3", "docker.io/library/alpine:3"],
  ])("resolveShortName(%j) uses the alias: %j", (name, expected) => {
    const r = resolveShortName(config, name);
    expect(r.rationale).toBe("alias");
    expect(r.origin).toBe("/etc/containers/registries.conf");
    expect(r.candidates.map(String)).toEqual([expected]);
    expect(r.description).toMatch(/as an alias \(\/etc\/containers\/registries\.conf\)/);
  });

  test("resolveShortName() prefers the user's alias file over registries.conf", () => {
    const userAliases = parseShortNameAliasesConf('[aliases]\nfedora = "quay.io/fedora/fedora"', "/home/u/.cache/a.conf");
    const r = resolveShortName(config, "fedora:39", { userAliases });
    expect(r.candidates.map(String)).toEqual(["quay.io/fedora/fedora:39"]);
    expect(r.origin).toBe("/home/u/.cache/a.conf");
  });

  test("resolveShortName() treats a user alias of \"\" as no alias, hiding the registries.conf one", () => {
    const userAliases = parseShortNameAliasesConf('[aliases]\nhidden = ""', "/u.conf");
    const r = resolveShortName(config, "hidden", { userAliases, mode: "permissive" });
    expect(r.rationale).toBe("search-registries");
    expect(r.candidates).toHaveLength(3);
  });

  test("resolveShortName() tries every search registry in order in permissive mode", () => {
    const r = resolveShortName(config, "busybox:1");
    expect(r.mode).toBe("permissive");
    expect(r.rationale).toBe("search-registries");
    expect(r.origin).toBe("/etc/containers/registries.conf");
    expect(r.candidates.map(String)).toEqual([
      "registry.fedoraproject.org/busybox:1",
      "quay.io/busybox:1",
      "docker.io/library/busybox:1",
    ]);
    expect(r.description).toBe(
      'Resolving "busybox" using unqualified-search registries (/etc/containers/registries.conf)',
    );
  });

  test("resolveShortName() returns all candidates in disabled mode", () => {
    expect(resolveShortName(config, "busybox", { mode: "disabled" }).candidates).toHaveLength(3);
  });

  test("resolveShortName() in enforcing mode with several candidates throws AmbiguousImageError naming them", () => {
    expect(() => resolveShortName(config, "busybox", { mode: "enforcing" })).toThrow(AmbiguousImageError);
    expect(() => resolveShortName(config, "busybox", { mode: "enforcing" })).toThrow(
      /could be registry\.fedoraproject\.org\/busybox:latest, quay\.io\/busybox:latest, docker\.io\/library\/busybox:latest/,
    );
  });

  test("resolveShortName() in enforcing mode with one search registry is not ambiguous", () => {
    expect(resolveShortName(oneRegistry, "busybox", { mode: "enforcing" }).candidates.map(String)).toEqual([
      "quay.io/busybox:latest",
    ]);
  });

  test("resolveShortName() in enforcing mode still uses an alias", () => {
    expect(resolveShortName(config, "fedora", { mode: "enforcing" }).candidates).toHaveLength(1);
  });

  test("resolveShortName() uses the configuration's short-name-mode unless overridden", () => {
    const enforcing = registriesConfigFromText('short-name-mode = "enforcing"\nunqualified-search-registries = ["a.io", "b.io"]');
    expect(() => resolveShortName(enforcing, "x")).toThrow(AmbiguousImageError);
    expect(resolveShortName(enforcing, "x", { mode: "permissive" }).candidates).toHaveLength(2);
  });

  test("resolveShortName() without alias or search registries throws naming the file", () => {
    expect(() => resolveShortName(noRegistry, "busybox")).toThrow(InvalidReferenceError);
    expect(() => resolveShortName(noRegistry, "busybox")).toThrow(
      /short name "busybox" did not resolve to an alias and no unqualified-search-registries are defined in \/none\.conf/,
    );
  });

  test("resolveShortName() of an invalid name throws InvalidReferenceError", () => {
    expect(() => resolveShortName(config, "Not/Valid")).toThrow(InvalidReferenceError);
    expect(() => resolveShortName(config, "")).toThrow(InvalidReferenceError);
  });
});

describe("resolveShortNameLocally()", () => {
  test("resolveShortNameLocally() lists the alias, localhost, then the search registries", () => {
    expect(resolveShortNameLocally(config, "fedora").map(String)).toEqual([
      "registry.fedoraproject.org/fedora:latest",
      "localhost/fedora:latest",
      "registry.fedoraproject.org/fedora:latest",
      "quay.io/fedora:latest",
      "docker.io/library/fedora:latest",
    ]);
  });

  test("resolveShortNameLocally() keeps the digest of the name", () => {
    expect(resolveShortNameLocally(oneRegistry, `x@${D}`).map(String)).toEqual([`localhost/x@${D}`, `quay.io/x@${D}`]);
  });

  test("resolveShortNameLocally() returns a fully-qualified name alone", () => {
    expect(resolveShortNameLocally(config, "quay.io/a/b:c").map(String)).toEqual(["quay.io/a/b:c"]);
  });
});
