import { describe, expect, test } from "vitest";
import { InvalidConfigurationError } from "@stevedore/types";
import {
  parseRegistriesConf,
  parseShortNameAliasesConf,
  registriesConfigFromText,
  RegistriesConfError,
  type RegistriesConfig,
} from "@stevedore/registries-conf";

function conf(text: string): RegistriesConfig {
  return registriesConfigFromText(text, { source: "/etc/containers/registries.conf" });
}

describe("parseRegistriesConf() v2", () => {
  test("parseRegistriesConf() reads every v2 field", () => {
    const c = conf(`
unqualified-search-registries = ["registry.fedoraproject.org", "docker.io", "localhost:5000"]
short-name-mode = "enforcing"
credential-helpers = ["pass", "containers-auth.json"]

[[registry]]
prefix = "example.com/foo"
location = "internal.example.com/mirror/foo///"
insecure = true
mirror-by-digest-only = true

[[registry.mirror]]
location = "mirror-1.example.com/foo"

[[registry.mirror]]
location = "mirror-2.example.com/foo/"
insecure = true
proxy = "socks5://127.0.0.1:1080"

[[registry]]
location = "blocked.example.com"
blocked = true

[aliases]
fedora = "registry.fedoraproject.org/fedora"
"library/alp" = "docker.io/alpine"
unset = ""
`);
    expect(c.unqualifiedSearchRegistries).toEqual(["registry.fedoraproject.org", "docker.io", "localhost:5000"]);
    expect(c.unqualifiedSearchRegistriesOrigin).toBe("/etc/containers/registries.conf");
    expect(c.shortNameMode).toBe("enforcing");
    expect(c.credentialHelpers).toEqual(["pass", "containers-auth.json"]);
    expect(c.registries).toEqual([
      { prefix: "blocked.example.com", location: "blocked.example.com", insecure: false, blocked: true, mirrorByDigestOnly: false, mirrors: [] },
      {
        prefix: "example.com/foo",
        location: "internal.example.com/mirror/foo",
        insecure: true,
        blocked: false,
        mirrorByDigestOnly: true,
        mirrors: [
          { location: "mirror-1.example.com/foo", insecure: false, pullFromMirror: "all" },
          { location: "mirror-2.example.com/foo", insecure: true, pullFromMirror: "all", proxy: "socks5://127.0.0.1:1080" },
        ],
      },
    ]);
    expect([...c.aliases]).toEqual([
      ["fedora", { value: "registry.fedoraproject.org/fedora", origin: "/etc/containers/registries.conf" }],
      ["library/alp", { value: "docker.io/library/alpine", origin: "/etc/containers/registries.conf" }],
      ["unset", { value: undefined, origin: "/etc/containers/registries.conf" }],
    ]);
  });

  test("parseRegistriesConf() of an empty file gives the defaults", () => {
    const c = conf("");
    expect(c.registries).toEqual([]);
    expect(c.unqualifiedSearchRegistries).toEqual([]);
    expect(c.credentialHelpers).toEqual(["containers-auth.json"]);
    expect(c.shortNameMode).toBe("permissive");
    expect(c.aliases.size).toBe(0);
  });

  test("parseRegistriesConf() keeps unset fields undefined and set-but-empty arrays empty", () => {
    const unset = parseRegistriesConf("");
    expect(unset.unqualifiedSearchRegistries).toBeUndefined();
    expect(unset.credentialHelpers).toBeUndefined();
    expect(unset.shortNameMode).toBeUndefined();
    const empty = parseRegistriesConf('unqualified-search-registries = []\ncredential-helpers = []\nshort-name-mode = ""');
    expect(empty.unqualifiedSearchRegistries).toEqual([]);
    expect(empty.credentialHelpers).toEqual([]);
    expect(empty.shortNameMode).toBeUndefined();
  });

  test("parseRegistriesConf() defaults the prefix to the location", () => {
    const c = conf('[[registry]]\nlocation = "registry.example.com:5000/ns"');
    expect(c.registries[0]).toMatchObject({ prefix: "registry.example.com:5000/ns", location: "registry.example.com:5000/ns" });
  });

  test("parseRegistriesConf() accepts an empty location with a *.domain prefix", () => {
    const c = conf('[[registry]]\nprefix = "*.internal.example.com"\ninsecure = true');
    expect(c.registries[0]).toMatchObject({ prefix: "*.internal.example.com", location: "", insecure: true });
  });

  test("parseRegistriesConf() keeps the first of two entries with the same prefix and sorts by prefix", () => {
    const c = conf(`
[[registry]]
prefix = "z.example.com"
location = "first.example.com"
[[registry]]
prefix = "a.example.com"
location = "a.example.com"
[[registry]]
prefix = "z.example.com"
location = "second.example.com"
`);
    expect(c.registries.map((r) => [r.prefix, r.location])).toEqual([
      ["a.example.com", "a.example.com"],
      ["z.example.com", "first.example.com"],
    ]);
  });

  test("parseRegistriesConf() allows one location under several prefixes when its settings agree", () => {
    const c = conf(`
[[registry]]
prefix = "example.com/a"
location = "backend.example.com"
insecure = true
[[registry]]
prefix = "example.com/b"
location = "backend.example.com"
insecure = true
`);
    expect(c.registries).toHaveLength(2);
  });

  test("parseRegistriesConf() ignores unknown keys", () => {
    const c = conf('some-future-key = 1\n[[registry]]\nlocation = "a.example.com"\nfuture = "x"');
    expect(c.registries).toHaveLength(1);
  });

  test("parseRegistriesConf() accepts pull-from-mirror values on mirrors", () => {
    const c = conf(`
[[registry]]
location = "r.example.com"
[[registry.mirror]]
location = "m1.example.com"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "m2.example.com"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "m3.example.com"
pull-from-mirror = "all"
`);
    expect(c.registries[0]!.mirrors.map((m) => m.pullFromMirror)).toEqual(["digest-only", "tag-only", "all"]);
  });
});

describe("parseRegistriesConf() v1", () => {
  test("parseRegistriesConf() converts the v1 tables to v2", () => {
    const c = conf(`
[registries.search]
registries = ["registry-a.com", "registry-c.com", "registry-d.com"]
[registries.block]
registries = ["registry-b.com/bar/", "registry-e.com"]
[registries.insecure]
registries = ["registry-b.com/bar", "registry-f.com:5000"]
`);
    expect(c.unqualifiedSearchRegistries).toEqual(["registry-a.com", "registry-c.com", "registry-d.com"]);
    expect(c.registries.map((r) => [r.prefix, r.location, r.insecure, r.blocked])).toEqual([
      ["registry-b.com/bar", "registry-b.com/bar", true, true],
      ["registry-e.com", "registry-e.com", false, true],
      ["registry-f.com:5000", "registry-f.com:5000", true, false],
    ]);
  });

  test("parseRegistriesConf() treats empty v1 lists as v1 (and mixing them with v2 as an error)", () => {
    expect(() => conf('[registries.search]\nregistries = []\n[[registry]]\nlocation = "a.example.com"')).toThrow(
      /mixing the v1 format/,
    );
    expect(conf("[registries.search]\nregistries = []").unqualifiedSearchRegistries).toEqual([]);
  });

  test("parseRegistriesConf() refuses v1 in a drop-in", () => {
    expect(() =>
      parseRegistriesConf('[registries.search]\nregistries = ["a.example.com"]', { source: "d/1.conf", dropIn: true }),
    ).toThrow(/d\/1\.conf: registries: drop-in files must use the v2 format/);
  });
});

/** [what, text, field, message fragment] */
const invalid: [string, string, string, RegExp][] = [
  ["invalid TOML", "a = [", "", /not valid TOML: .*unfinished array \(line 1, column 5\)/],
  ["a duplicate key", "a = 1\na = 2", "", /not valid TOML/],
  ["registry as a table", '[registry]\nlocation = "a"', "registry", /must be an array of tables, not a table/],
  ["a location that is not a string", "[[registry]]\nlocation = 5", "registry[0].location", /must be a string, not a number/],
  ["insecure as a string", '[[registry]]\nlocation = "a.com"\ninsecure = "yes"', "registry[0].insecure", /must be true or false, not a string/],
  ["blocked as a date", '[[registry]]\nlocation = "a.com"\nblocked = 1979-05-27', "registry[0].blocked", /must be true or false, not a date/],
  ["mirror-by-digest-only as a number", '[[registry]]\nlocation = "a.com"\nmirror-by-digest-only = 1', "registry[0].mirror-by-digest-only", /must be true or false/],
  ["a location with https://", '[[registry]]\nlocation = "https://a.com"', "registry[0].location", /URI scheme, which is not supported; write it without "https:\/\/"/],
  ["a location with http://", '[[registry]]\nlocation = "http://a.com/"', "registry[0].location", /without "http:\/\/"/],
  ["a prefix with a scheme", '[[registry]]\nprefix = "https://a.com"\nlocation = "a.com"', "registry[0].prefix", /URI scheme/],
  ["a mirror location with a scheme", '[[registry]]\nlocation = "a.com"\n[[registry.mirror]]\nlocation = "https://m.com"', "registry[0].mirror[0].location", /URI scheme/],
  ["neither prefix nor location", "[[registry]]\ninsecure = true", "registry[0]", /location and prefix are both unset/],
  ["a prefix that is only slashes", '[[registry]]\nprefix = "//"\nlocation = "a.com"', "registry[0].prefix", /empty once trailing "\/" are removed/],
  ["no location with a plain prefix", '[[registry]]\nprefix = "example.com"', "registry[0].location", /must be set unless the prefix is a \*\.example\.com wildcard/],
  ["a wildcard prefix with a path", '[[registry]]\nprefix = "*.example.com/ns"', "registry[0].prefix", /must have the form \*\.example\.com/],
  ["a wildcard prefix with a port", '[[registry]]\nprefix = "*.example.com:5000"\nlocation = "x.com"', "registry[0].prefix", /no "\/", "@" or ":"/],
  ["a wildcard prefix with a digest", '[[registry]]\nprefix = "*.example.com@sha256:aa"\nlocation = "x.com"', "registry[0].prefix", /wildcard prefix/],
  ["a mirror without location", '[[registry]]\nlocation = "a.com"\n[[registry.mirror]]\ninsecure = true', "registry[0].mirror[0].location", /a mirror location must be set/],
  ["a mirror as a string", '[[registry]]\nlocation = "a.com"\nmirror = ["m.com"]', "registry[0].mirror[0]", /must be a table, not a string/],
  ["pull-from-mirror on the registry", '[[registry]]\nlocation = "a.com"\npull-from-mirror = "all"', "registry[0].pull-from-mirror", /only be set on a \[\[registry\.mirror\]\]/],
  ["pull-from-mirror with mirror-by-digest-only", '[[registry]]\nlocation = "a.com"\nmirror-by-digest-only = true\n[[registry.mirror]]\nlocation = "m.com"\npull-from-mirror = "all"', "registry[0].mirror[0].pull-from-mirror", /cannot be set when the registry .* sets mirror-by-digest-only/],
  ["an unknown pull-from-mirror value", '[[registry]]\nlocation = "a.com"\n[[registry.mirror]]\nlocation = "m.com"\npull-from-mirror = "notvalid"', "registry[0].mirror[0].pull-from-mirror", /unsupported value "notvalid"; use all, digest-only or tag-only/],
  ["conflicting insecure for one location", '[[registry]]\nlocation = "r.com"\ninsecure = true\n[[registry]]\nprefix = "r.com/x"\nlocation = "r.com"', "registry[1].insecure", /registry "r.com" is defined several times with conflicting "insecure" settings \(see registry\[0\]\)/],
  ["conflicting blocked for one location", '[[registry]]\nlocation = "r.com"\n[[registry]]\nprefix = "r.com/x"\nlocation = "r.com"\nblocked = true', "registry[1].blocked", /conflicting "blocked"/],
  ["conflicting proxy for one location", '[[registry]]\nlocation = "r.com"\nproxy = "http://p:1"\n[[registry]]\nprefix = "r.com/x"\nlocation = "r.com"', "registry[1].proxy", /conflicting "proxy"/],
  ["conflicting settings for one wildcard", '[[registry]]\nprefix = "*.r.com"\n[[registry]]\nprefix = "*.r.com"\nblocked = true', "registry[1].blocked", /registry "\*\.r\.com"/],
  ["an unsupported proxy scheme", '[[registry]]\nlocation = "r.com"\nproxy = "ftp://p:1"', "registry[0].proxy", /proxy URL scheme "ftp" is not supported/],
  ["a malformed proxy", '[[registry]]\nlocation = "r.com"\nproxy = "not a url"', "registry[0].proxy", /is not a valid proxy URL/],
  ["a search registry with a path", 'unqualified-search-registries = ["quay.io/ns"]', "unqualified-search-registries[0]", /"quay.io\/ns" is not a valid host\[:port\]/],
  ["an empty search registry", 'unqualified-search-registries = ["a.com", ""]', "unqualified-search-registries[1]", /not a valid host/],
  ["a search registry with a scheme", 'unqualified-search-registries = ["https://a.com"]', "unqualified-search-registries[0]", /URI scheme/],
  ["search registries as a string", 'unqualified-search-registries = "a.com"', "unqualified-search-registries", /must be an array of strings, not a string/],
  ["a search registry that is a number", "unqualified-search-registries = [1]", "unqualified-search-registries[0]", /must be a string/],
  ["a v1 search registry with a path", '[registries.search]\nregistries = ["a.com/x"]', "registries.search.registries[0]", /not a valid host/],
  ["a v1 location with a scheme", '[registries.block]\nregistries = ["https://a.com"]', "registries.block.registries[0]", /URI scheme/],
  ["an empty v1 location", '[registries.insecure]\nregistries = [""]', "registries.insecure.registries[0]", /must not be empty/],
  ["registries as an array", "registries = [1]", "registries", /must be a table, not an array/],
  ["an unknown short-name-mode", 'short-name-mode = "prompt"', "short-name-mode", /unsupported value "prompt"; use enforcing, permissive or disabled/],
  ["short-name-mode as a boolean", "short-name-mode = true", "short-name-mode", /must be a string, not a boolean/],
  ["an empty credential helper", 'credential-helpers = [""]', "credential-helpers[0]", /is not a credential helper name/],
  ["a credential helper with a slash", 'credential-helpers = ["../../bin/sh"]', "credential-helpers[0]", /is not a credential helper name/],
  ["aliases as an array", "aliases = []", "aliases", /must be a table, not an array/],
  ["an alias with a registry in its name", '[aliases]\n"quay.io/x" = "quay.io/x"', 'aliases."quay.io/x"', /must not contain a registry/],
  ["an alias name with localhost", '[aliases]\n"localhost/x" = "quay.io/x"', 'aliases."localhost/x"', /must not contain a registry/],
  ["an alias name with a tag", '[aliases]\n"x:1" = "quay.io/x"', 'aliases."x:1"', /must not contain a tag/],
  ["an alias name with a digest", `[aliases]\n"x@sha256:${"a".repeat(64)}" = "quay.io/x"`, `aliases."x@sha256:${"a".repeat(64)}"`, /must not contain a digest/],
  ["an alias name that is not a name", '[aliases]\n"UPPER" = "quay.io/x"', 'aliases."UPPER"', /not a valid repository name/],
  ["an alias value without registry", '[aliases]\nx = "library/x"', "aliases.\"x\"", /must contain a registry and a repository/],
  ["an alias value with a tag", '[aliases]\nx = "quay.io/x:1"', "aliases.\"x\"", /must not contain a tag/],
  ["an alias value with a digest", `[aliases]\nx = "quay.io/x@sha256:${"b".repeat(64)}"`, "aliases.\"x\"", /must not contain a digest/],
  ["an alias value that is not a reference", '[aliases]\nx = "quay.io/X Y"', "aliases.\"x\"", /not a valid reference/],
  ["an alias value that is a number", "[aliases]\nx = 3", "aliases.\"x\"", /must be a string, not a number/],
  ["several bad aliases", '[aliases]\n"a.b/c" = "q.io/c"\nd = "e"', "aliases", /invalid short-name aliases:\n {2}aliases\."a\.b\/c": .*\n {2}aliases\."d": /],
];

describe("parseRegistriesConf() validation", () => {
  test.each(invalid)("parseRegistriesConf() rejects %s", (_what, text, field, message) => {
    let error: unknown;
    try {
      parseRegistriesConf(text, { source: "/etc/containers/registries.conf" });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegistriesConfError);
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    const e = error as RegistriesConfError;
    expect(e.code).toBe("ERR_INVALID_CONFIGURATION");
    expect(e.source).toBe("/etc/containers/registries.conf");
    expect(e.field).toBe(field);
    expect(e.message.startsWith(`/etc/containers/registries.conf: ${field ? `${field}: ` : ""}`)).toBe(true);
    expect(e.message).toMatch(message);
  });

  test("parseRegistriesConf() never echoes a proxy URL that may hold credentials", () => {
    expect(() => parseRegistriesConf('[[registry]]\nlocation = "r.com"\nproxy = "user:s3cret@@ bad"')).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining("s3cret") }),
    );
  });

  test("parseRegistriesConf() refuses deeply nested inline values", () => {
    expect(() => parseRegistriesConf(`x = ${"[".repeat(200)}${"]".repeat(200)}`)).toThrow(RegistriesConfError);
  });

  test("parseRegistriesConf() names the file given as source, defaulting to registries.conf", () => {
    expect(() => parseRegistriesConf("=")).toThrow(/^registries\.conf: not valid TOML/);
    expect(() => parseRegistriesConf("=", { source: "/x/y.conf" })).toThrow(/^\/x\/y\.conf: not valid TOML/);
  });
});

describe("parseShortNameAliasesConf()", () => {
  test("parseShortNameAliasesConf() reads the [aliases] table with the file as origin", () => {
    const aliases = parseShortNameAliasesConf('[aliases]\nubi = "registry.access.redhat.com/ubi9"\nx = ""', "/u/a.conf");
    expect([...aliases]).toEqual([
      ["ubi", { value: "registry.access.redhat.com/ubi9", origin: "/u/a.conf" }],
      ["x", { value: undefined, origin: "/u/a.conf" }],
    ]);
  });

  test("parseShortNameAliasesConf() of a file without aliases is empty", () => {
    expect(parseShortNameAliasesConf("").size).toBe(0);
  });

  test("parseShortNameAliasesConf() rejects an invalid alias naming the file", () => {
    expect(() => parseShortNameAliasesConf('[aliases]\nx = "nope"', "/u/a.conf")).toThrow(
      /^\/u\/a\.conf: aliases\."x": alias "nope" must contain a registry/,
    );
  });

  test("parseShortNameAliasesConf() keeps a name that is an Object.prototype member", () => {
    const aliases = parseShortNameAliasesConf('[aliases]\nconstructor = "quay.io/c"');
    expect(aliases.get("constructor")?.value).toBe("quay.io/c");
  });

  test("parseShortNameAliasesConf() rejects __proto__ as a name instead of touching prototypes", () => {
    expect(() => parseShortNameAliasesConf('[aliases]\n"__proto__" = "quay.io/p"')).toThrow(
      /aliases\."__proto__": short name "__proto__" is not a valid repository name/,
    );
  });
});

describe("regressions found by the property tests", () => {
  test("a wildcard location is refused, naming the field", () => {
    expect(() => parseRegistriesConf('[[registry]]\nlocation = "*.x/y"\n', { source: "r.conf" })).toThrow(/registry\[0\]\.location.*wildcard/);
    expect(() => parseRegistriesConf('[[registry]]\nlocation = "*.example.com"\n', { source: "r.conf" })).toThrow(/wildcard/);
  });
});
