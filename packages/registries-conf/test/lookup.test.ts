import { describe, expect, test } from "vitest";
import { parseNormalizedNamed } from "@stevedore/reference";
import { InvalidReferenceError, PolicyRejectedError } from "@stevedore/types";
import {
  assertNotBlocked,
  findRegistry,
  isBlocked,
  isInsecure,
  prefixMatchLength,
  pullSources,
  pullSourcesFor,
  registriesConfigFromText,
  RegistryBlockedError,
  rewriteReference,
} from "@stevedore/registries-conf";

const A64 = "a".repeat(64);

describe("prefixMatchLength()", () => {
  /** [ref, prefix, expected length or -1] */
  const cases: [string, string, number][] = [
    // host prefixes
    ["docker.io", "docker.io", 9],
    ["docker.io", "example.com", -1],
    ["example.com:5000", "example.com:5000", 16],
    ["example.com:50000", "example.com:5000", -1],
    ["example.com/foo", "example.com", 11],
    ["example.com/foo/bar", "example.com", 11],
    ["example.com/foo/bar:baz", "example.com", 11],
    [`example.com/foo/bar@sha256:${A64}`, "example.com", 11],
    ["example.comx/foo", "example.com", -1],
    // namespace / repository prefixes
    ["docker.io", "docker.io/library", -1],
    ["docker.io/library", "docker.io/library", 17],
    ["example.com/library", "docker.io/library", -1],
    ["docker.io/libraryy", "docker.io/library", -1],
    ["docker.io/library/busybox", "docker.io/library", 17],
    ["docker.io/library/busybox", "docker.io/library/busybox", 25],
    ["docker.io/library/busybox2", "docker.io/library/busybox", -1],
    // image prefixes
    ["example.com/foo", "example.com/foo:bar", -1],
    ["example.com/foo:bar", "example.com/foo:bar", 19],
    ["example.com/foo:bar2", "example.com/foo:bar", -1],
    [`example.com/foo@sha256:${A64}`, `example.com/foo@sha256:${A64}`, 87],
    [`example.com/foo@sha256:${"b".repeat(64)}`, `example.com/foo@sha256:${A64}`, -1],
    // nonsense prefixes do not crash
    ["example.com/foo", "*", -1],
    ["example.com/foo", "", -1],
    // wildcards
    ["docker.io", "*.io", 9],
    ["docker.io/foo", "*.com", -1],
    ["example.com/foo", "*.co", -1],
    ["example.com/foo", "*.example.com", -1],
    ["example.com/foo", "*.com", 11],
    ["example.com/foo:bar", "*.com", 11],
    ["example.com/foo/bar:baz", "*.com", 11],
    ["yet.another.example.com/foo", "**.example.com", -1],
    ["yet.another.example.com/foo/bar", "*.another.example.com", 23],
    ["another.example.com/namespace.com/foo/bar/bbq:baz", "*.example.com", 19],
    ["example.net/namespace-ends-in.com/foo/bar/bbq:baz", "*.com", -1],
    ["another.example.com/namespace.com/foo/bar/bbq:baz", "*.namespace.com", -1],
    ["sub.example.com/foo/bar", "*.example.com", 15],
    ["another.sub.example.com/foo/bar/bbq:baz", "*.sub.example.com", 23],
    [`yet.another.example.com/foo/bar@sha256:${A64}`, "*.example.com", 23],
    ["not.quite.simple-prefix.com:5000/with/path", "*.simple-prefix.com", 27],
    ["a.com.com/x", "*.com", 9],
  ];
  test.each(cases)("prefixMatchLength(%j, %j) is %d", (ref, prefix, expected) => {
    expect(prefixMatchLength(ref, prefix)).toBe(expected);
  });
});

const findConf = registriesConfigFromText(`
[[registry]]
prefix = "simple-prefix.com"
location = "registry.com:5000"

[[registry]]
prefix = "complex-prefix.com:4000/with/path"
location = "another-registry.com:5000"

[[registry]]
prefix = "complex-prefix.com:4000/with"
location = "another-registry.com:5000/short"

[[registry]]
location = "no-prefix.com"

[[registry]]
prefix = "*.simple-prefix.com"
location = "subdomain-prefix.com"

[[registry]]
prefix = "*.quite.simple-prefix.com"
location = "subdomain-prefix-2.com"

[[registry]]
prefix = "*.example.com"
location = "wild.example.net"

[[registry]]
prefix = "foo.bar.example.com:5000"
location = "subdomain-prefix-5.com"

[[registry]]
prefix = "image.com/ns/app:v1"
location = "pinned.example.net/app"
`);

describe("findRegistry()", () => {
  /** [ref, expected prefix or undefined] */
  const cases: [string, string | undefined][] = [
    ["simple-prefix.com/foo/bar:latest", "simple-prefix.com"],
    ["simple-prefix.com", "simple-prefix.com"],
    ["simple-prefix.com/", "simple-prefix.com"],
    ["simple-prefix.comx", undefined],
    ["not.so.simple-prefix.com/", "*.simple-prefix.com"],
    ["not.quite.simple-prefix.com/", "*.quite.simple-prefix.com"],
    ["not.quite.simple-prefix.com:5000/with/path/and/beyond:tag", "*.quite.simple-prefix.com"],
    ["complex-prefix.com:4000/with/path/and/beyond:tag", "complex-prefix.com:4000/with/path"],
    ["complex-prefix.com:4000/with/other", "complex-prefix.com:4000/with"],
    ["complex-prefix.com:4000", undefined],
    ["no-prefix.com/foo:tag", "no-prefix.com"],
    ["foo.bar.example.com:5000/omg/wtf/bbq:foo", "foo.bar.example.com:5000"],
    ["foo.bar.example.com:6000/omg", "*.example.com"],
    ["image.com/ns/app:v1", "image.com/ns/app:v1"],
    ["image.com/ns/app:v2", undefined],
    ["unrelated.org/x", undefined],
  ];
  test.each(cases)("findRegistry(config, %j) is the entry with prefix %j", (ref, prefix) => {
    expect(findRegistry(findConf, ref)?.prefix).toBe(prefix);
  });

  test("findRegistry() takes a parsed reference and matches its full text", () => {
    expect(findRegistry(findConf, parseNormalizedNamed("image.com/ns/app:v1"))?.location).toBe("pinned.example.net/app");
    expect(findRegistry(findConf, parseNormalizedNamed("image.com/ns/app"))).toBeUndefined();
  });
});

describe("rewriteReference()", () => {
  /** [input, prefix, location, expected] */
  const ok: [string, string, string, string][] = [
    ["example.com/image", "example.com", "example.com", "example.com/image"],
    ["example.com/image:latest", "example.com", "example.com", "example.com/image:latest"],
    ["example.com:5000/image:latest", "example.com:5000", "example.com:5000", "example.com:5000/image:latest"],
    [`example.com/foo@sha256:${A64}`, "example.com", "example.com", `example.com/foo@sha256:${A64}`],
    ["example.com/foo/image:latest", "example.com/foo", "example.com", "example.com/image:latest"],
    ["example.com/foo/image:latest", "example.com/foo", "example.com/path", "example.com/path/image:latest"],
    ["docker.io/library/image:latest", "docker.io", "docker.io", "docker.io/library/image:latest"],
    ["docker.io/library/image", "docker.io/library", "example.com", "example.com/image"],
    ["docker.io/library/image", "docker.io", "example.com", "example.com/library/image"],
    ["docker.io/library/prefix/image", "docker.io/library/prefix", "example.com", "example.com/image"],
    ["docker.io/namespace/image", "*.io", "example.com", "example.com/namespace/image"],
    ["sub.example.io/library/prefix/image", "*.example.io", "example.com", "example.com/library/prefix/image"],
    ["another.sub.example.io:5000/library/prefix/image:latest", "*.sub.example.io", "example.com", "example.com:5000/library/prefix/image:latest"],
    ["foo.bar.io/ns1/ns2/ns3/ns4", "*.bar.io", "omg.bbq.com/roflmao", "omg.bbq.com/roflmao/ns1/ns2/ns3/ns4"],
    ["abc.internal.registry.com/foo:bar", "*.internal.registry.com", "", "abc.internal.registry.com/foo:bar"],
    ["alien.vs.predator.foobar.io:5000/omg:bbq", "*.foobar.io", "", "alien.vs.predator.foobar.io:5000/omg:bbq"],
  ];
  test.each(ok)("rewriteReference(%j, %j, %j) is %j", (input, prefix, location, expected) => {
    expect(rewriteReference(parseNormalizedNamed(input), prefix, location).toString()).toBe(expected);
  });

  /** [input, prefix, location] */
  const bad: [string, string, string][] = [
    [`example.com/foo@sha256:${A64}`, "example.com/foo", "example.com"],
    ["example.com:5000/image:latest", "example.com", ""],
    ["example.com:5000/image:latest", "example.com", "example.com:5000"],
    ["example.com/foo/image:latest", "example.com//foo", "example.com/path"],
    ["example.com/image:latest", "image", "anotherimage"],
    ["example.com/foo/image:latest", "example.com/foo/", "example.com"],
    ["example.com/foo/image", "example.com/f", "example.com/foo"],
    ["docker.io/library/image", "example.com", "example.com"],
    ["docker.io/library/image", "*.com", "example.com"],
    ["foo.docker.io/library/image", "*.docker.com", "example.com/image"],
    ["example.com/library/image", "example.com/library", "docker.io"],
  ];
  test.each(bad)("rewriteReference(%j, %j, %j) throws InvalidReferenceError", (input, prefix, location) => {
    expect(() => rewriteReference(parseNormalizedNamed(input), prefix, location)).toThrow(InvalidReferenceError);
  });
});

const pullConf = registriesConfigFromText(`
[[registry]]
prefix = "registry-a.com/foo"
location = "registry-a.com/bar"
[[registry.mirror]]
location = "mirror-1.registry-a.com"
[[registry.mirror]]
location = "mirror-2.registry-a.com"
insecure = true

[[registry]]
prefix = "registry-b.com/foo"
location = "registry-b.com/bar"
mirror-by-digest-only = true
[[registry.mirror]]
location = "mirror-1.registry-b.com"
[[registry.mirror]]
location = "mirror-2.registry-b.com"

[[registry]]
prefix = "registry-c.com/baz"
location = "registry-c.com/bar"
[[registry.mirror]]
location = "mirror-1.registry-c.com"
[[registry.mirror]]
location = "mirror-2.registry-c.com"
pull-from-mirror = "digest-only"

[[registry]]
prefix = "registry-e.com/baz"
location = "registry-e.com/bar"
[[registry.mirror]]
location = "mirror-1.registry-e.com"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "mirror-2.registry-e.com"
pull-from-mirror = "tag-only"

[[registry]]
prefix = "registry-g.com/baz"
location = "registry-g.com/bar"
insecure = true
[[registry.mirror]]
location = "mirror-1.registry-g.com"
pull-from-mirror = "digest-only"
[[registry.mirror]]
location = "mirror-2.registry-g.com"
pull-from-mirror = "tag-only"
[[registry.mirror]]
location = "mirror-3.registry-g.com"
pull-from-mirror = "all"
[[registry.mirror]]
location = "mirror-4.registry-g.com"

[[registry]]
prefix = "*.wild.example"
[[registry.mirror]]
location = "cache.example.net/wild"

[[registry]]
location = "blocked.example.com"
blocked = true
`);

describe("pullSources()", () => {
  const digest = `@sha256:${A64}`;
  const tag = ":aaa";
  /** [matched prefix, [location, insecure][] by digest, [location, insecure][] by tag] */
  const cases: [string, [string, boolean][], [string, boolean][]][] = [
    [
      "registry-a.com/foo",
      [["mirror-1.registry-a.com", false], ["mirror-2.registry-a.com", true], ["registry-a.com/bar", false]],
      [["mirror-1.registry-a.com", false], ["mirror-2.registry-a.com", true], ["registry-a.com/bar", false]],
    ],
    [
      "registry-b.com/foo",
      [["mirror-1.registry-b.com", false], ["mirror-2.registry-b.com", false], ["registry-b.com/bar", false]],
      [["registry-b.com/bar", false]],
    ],
    [
      "registry-c.com/baz",
      [["mirror-1.registry-c.com", false], ["mirror-2.registry-c.com", false], ["registry-c.com/bar", false]],
      [["mirror-1.registry-c.com", false], ["registry-c.com/bar", false]],
    ],
    [
      "registry-e.com/baz",
      [["registry-e.com/bar", false]],
      [["mirror-1.registry-e.com", false], ["mirror-2.registry-e.com", false], ["registry-e.com/bar", false]],
    ],
    [
      "registry-g.com/baz",
      [["mirror-1.registry-g.com", false], ["mirror-3.registry-g.com", false], ["mirror-4.registry-g.com", false], ["registry-g.com/bar", true]],
      [["mirror-2.registry-g.com", false], ["mirror-3.registry-g.com", false], ["mirror-4.registry-g.com", false], ["registry-g.com/bar", true]],
    ],
  ];
  test.each(cases)("pullSources() for %s picks mirrors by digest/tag rules and rewrites the prefix", (prefix, byDigest, byTag) => {
    for (const [suffix, expected] of [
      [digest, byDigest],
      [tag, byTag],
    ] as const) {
      const ref = parseNormalizedNamed(`${prefix}/image${suffix}`);
      const registry = findRegistry(pullConf, ref);
      expect(registry?.prefix).toBe(prefix);
      const sources = pullSources(registry!, ref);
      expect(sources.map((s) => [s.endpoint.location, s.endpoint.insecure])).toEqual(expected);
      expect(sources.map((s) => s.reference.toString())).toEqual(expected.map(([loc]) => `${loc}/image${suffix}`));
      expect(sources.map((s) => s.mirror)).toEqual(expected.map((_, i) => i < expected.length - 1));
    }
  });

  test("pullSources() keeps the reference unchanged for the empty location of a wildcard entry", () => {
    const ref = parseNormalizedNamed("reg.wild.example/app:1");
    const sources = pullSourcesFor(pullConf, ref);
    expect(sources.map((s) => s.reference.toString())).toEqual(["cache.example.net/wild/app:1", "reg.wild.example/app:1"]);
  });

  test("pullSourcesFor() of an unconfigured image is the image itself, secure", () => {
    const ref = parseNormalizedNamed("busybox");
    expect(pullSourcesFor(pullConf, ref)).toEqual([
      { endpoint: { location: "docker.io", insecure: false }, mirror: false, reference: ref },
    ]);
  });

  test("pullSources() of a blocked entry throws RegistryBlockedError", () => {
    const ref = parseNormalizedNamed("blocked.example.com/x:1");
    let error: unknown;
    try {
      pullSourcesFor(pullConf, ref);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegistryBlockedError);
    expect(error).toBeInstanceOf(PolicyRejectedError);
    expect((error as RegistryBlockedError).code).toBe("ERR_REGISTRY_BLOCKED");
    expect((error as RegistryBlockedError).prefix).toBe("blocked.example.com");
    expect((error as Error).message).toMatch(/blocked\.example\.com\/x:1 is blocked/);
  });

  test("isBlocked() and assertNotBlocked() follow the matching entry", () => {
    expect(isBlocked(pullConf, "blocked.example.com")).toBe(true);
    expect(isBlocked(pullConf, "blocked.example.com/ns/x")).toBe(true);
    expect(isBlocked(pullConf, "registry-a.com/foo/x")).toBe(false);
    expect(() => assertNotBlocked(pullConf, "blocked.example.com/ns/x")).toThrow(RegistryBlockedError);
    expect(() => assertNotBlocked(pullConf, "quay.io/x")).not.toThrow();
  });
});

describe("isInsecure()", () => {
  test.each([
    ["registry-g.com/baz", true],
    ["registry-g.com/baz/image:1", true],
    ["registry-g.com", false],
    ["registry-a.com/foo", false],
    ["unknown.example.org", false],
  ] as const)("isInsecure(config, %j) is %j", (host, expected) => {
    expect(isInsecure(pullConf, host)).toBe(expected);
  });

  test("isInsecure() matches a host under an insecure wildcard entry", () => {
    const c = registriesConfigFromText('[[registry]]\nprefix = "*.lab.example"\ninsecure = true');
    expect(isInsecure(c, "build.lab.example:5000")).toBe(true);
    expect(isInsecure(c, "lab.example")).toBe(false);
  });
});
