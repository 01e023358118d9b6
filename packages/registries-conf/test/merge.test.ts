import { describe, expect, test } from "vitest";
import { emptyRegistriesConfig, mergeRegistriesConf, parseRegistriesConf } from "@stevedore/registries-conf";

const main = parseRegistriesConf(
  `
unqualified-search-registries = ["base.example.com"]
credential-helpers = ["base-helper"]
short-name-mode = "enforcing"

[[registry]]
location = "base.com"

[[registry]]
prefix = "shared.example.com"
location = "from-main.example.com"

[aliases]
base = "base.com/base"
both = "base.com/both"
`,
  { source: "/etc/containers/registries.conf" },
);

function dropIn(name: string, text: string) {
  return parseRegistriesConf(text, { source: `/etc/containers/registries.conf.d/${name}`, dropIn: true });
}

describe("mergeRegistriesConf()", () => {
  test("mergeRegistriesConf() with no drop-ins is the main file", () => {
    const c = mergeRegistriesConf(main);
    expect(c.unqualifiedSearchRegistries).toEqual(["base.example.com"]);
    expect(c.credentialHelpers).toEqual(["base-helper"]);
    expect(c.shortNameMode).toBe("enforcing");
    expect(c.registries.map((r) => r.prefix)).toEqual(["base.com", "shared.example.com"]);
    expect(c.sources).toEqual(["/etc/containers/registries.conf"]);
  });

  test("mergeRegistriesConf() replaces a registry with the same prefix and adds new ones, sorted", () => {
    const c = mergeRegistriesConf(main, [
      dropIn("1.conf", '[[registry]]\nprefix = "shared.example.com"\nlocation = "from-dropin.example.com"\nblocked = true'),
      dropIn("2.conf", '[[registry]]\nlocation = "aaa.example.com"'),
    ]);
    expect(c.registries.map((r) => [r.prefix, r.location, r.blocked])).toEqual([
      ["aaa.example.com", "aaa.example.com", false],
      ["base.com", "base.com", false],
      ["shared.example.com", "from-dropin.example.com", true],
    ]);
  });

  test("mergeRegistriesConf() leaves fields a drop-in does not set", () => {
    const c = mergeRegistriesConf(main, [dropIn("1.conf", '[[registry]]\nlocation = "x.example.com"')]);
    expect(c.unqualifiedSearchRegistries).toEqual(["base.example.com"]);
    expect(c.unqualifiedSearchRegistriesOrigin).toBe("/etc/containers/registries.conf");
    expect(c.credentialHelpers).toEqual(["base-helper"]);
    expect(c.shortNameMode).toBe("enforcing");
  });

  test("mergeRegistriesConf() lets the last drop-in that sets a field win", () => {
    const c = mergeRegistriesConf(main, [
      dropIn("1.conf", 'unqualified-search-registries = ["one.example.com"]\nshort-name-mode = "disabled"'),
      dropIn("2.conf", 'unqualified-search-registries = ["two.example.com", "three.example.com"]\ncredential-helpers = ["pass"]'),
    ]);
    expect(c.unqualifiedSearchRegistries).toEqual(["two.example.com", "three.example.com"]);
    expect(c.unqualifiedSearchRegistriesOrigin).toBe("/etc/containers/registries.conf.d/2.conf");
    expect(c.shortNameMode).toBe("disabled");
    expect(c.credentialHelpers).toEqual(["pass"]);
    expect(c.sources).toEqual([
      "/etc/containers/registries.conf",
      "/etc/containers/registries.conf.d/1.conf",
      "/etc/containers/registries.conf.d/2.conf",
    ]);
  });

  test("mergeRegistriesConf() counts an empty array in a drop-in as set", () => {
    const c = mergeRegistriesConf(main, [dropIn("empty.conf", "unqualified-search-registries = []\ncredential-helpers = []")]);
    expect(c.unqualifiedSearchRegistries).toEqual([]);
    expect(c.unqualifiedSearchRegistriesOrigin).toBe("/etc/containers/registries.conf.d/empty.conf");
    // An empty helper list falls back to the default.
    expect(c.credentialHelpers).toEqual(["containers-auth.json"]);
  });

  test("mergeRegistriesConf() merges aliases by name, later files winning, an empty value cancelling", () => {
    const c = mergeRegistriesConf(main, [
      dropIn("1.conf", '[aliases]\nboth = "override.example.com/both"\nbase = ""\nnew = "quay.io/new"'),
    ]);
    expect(Object.fromEntries(c.aliases)).toEqual({
      base: { value: undefined, origin: "/etc/containers/registries.conf.d/1.conf" },
      both: { value: "override.example.com/both", origin: "/etc/containers/registries.conf.d/1.conf" },
      new: { value: "quay.io/new", origin: "/etc/containers/registries.conf.d/1.conf" },
    });
  });

  test("mergeRegistriesConf() without a main file starts from the defaults", () => {
    const c = mergeRegistriesConf(undefined, [dropIn("1.conf", 'short-name-mode = "disabled"')]);
    expect(c.shortNameMode).toBe("disabled");
    expect(c.credentialHelpers).toEqual(["containers-auth.json"]);
    expect(c.unqualifiedSearchRegistriesOrigin).toBeUndefined();
  });

  test("emptyRegistriesConfig() has the documented defaults", () => {
    expect(emptyRegistriesConfig()).toEqual({
      registries: [],
      unqualifiedSearchRegistries: [],
      unqualifiedSearchRegistriesOrigin: undefined,
      credentialHelpers: ["containers-auth.json"],
      shortNameMode: "permissive",
      aliases: new Map(),
      sources: [],
    });
  });

  test("mergeRegistriesConf() returns frozen lists", () => {
    const c = mergeRegistriesConf(main);
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.registries)).toBe(true);
    expect(Object.isFrozen(c.registries[0])).toBe(true);
    expect(Object.isFrozen(c.unqualifiedSearchRegistries)).toBe(true);
  });
});
