import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { AbortError, AmbiguousImageError, type SystemContext } from "@stevedore/types";
import { RegistriesConfError } from "@stevedore/registries-conf";
import {
  addShortNameAlias,
  dropInFiles,
  getRegistriesConfig,
  invalidateRegistriesConfCache,
  loadRegistriesConfig,
  loadShortNameAliases,
  registriesConfPaths,
  removeShortNameAlias,
  resolveShortNameWithContext,
  shortNameAliasesConfPath,
} from "@stevedore/registries-conf/node";

let dir: string;
let home: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "stevedore-regconf-"));
  home = join(dir, "home");
  await mkdir(home);
});
afterEach(async () => {
  invalidateRegistriesConfCache();
  await rm(dir, { recursive: true, force: true });
});

async function put(path: string, text: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  return path;
}

function ctx(extra: SystemContext = {}): SystemContext {
  return { homeDir: home, env: { HOME: home }, ...extra };
}

describe("registriesConfPaths()", () => {
  test("registriesConfPaths() defaults to the system file and both drop-in directories", async () => {
    expect(await registriesConfPaths(ctx())).toEqual({
      configPath: "/etc/containers/registries.conf",
      configPathIsExplicit: false,
      configDirPath: "/etc/containers/registries.conf.d",
      userConfigDirPath: join(home, ".config/containers/registries.conf.d"),
    });
  });

  test("registriesConfPaths() puts implicit system paths under rootForImplicitAbsolutePaths", async () => {
    expect(await registriesConfPaths(ctx({ rootForImplicitAbsolutePaths: "/mnt/root" }))).toEqual({
      configPath: "/mnt/root/etc/containers/registries.conf",
      configPathIsExplicit: false,
      configDirPath: "/mnt/root/etc/containers/registries.conf.d",
      userConfigDirPath: join(home, ".config/containers/registries.conf.d"),
    });
  });

  test("registriesConfPaths() uses the user's registries.conf instead of the system one, with only the user drop-ins", async () => {
    await put(join(home, ".config/containers/registries.conf"), "");
    expect(await registriesConfPaths(ctx({ rootForImplicitAbsolutePaths: "/mnt/root" }))).toEqual({
      configPath: join(home, ".config/containers/registries.conf"),
      configPathIsExplicit: false,
      configDirPath: undefined,
      userConfigDirPath: join(home, ".config/containers/registries.conf.d"),
    });
  });

  test("registriesConfPaths() lets explicit paths win over the user file", async () => {
    await put(join(home, ".config/containers/registries.conf"), "");
    expect(await registriesConfPaths(ctx({ systemRegistriesConfPath: "/x/r.conf", systemRegistriesConfDirPath: "/x/d" }))).toEqual({
      configPath: "/x/r.conf",
      configPathIsExplicit: true,
      configDirPath: "/x/d",
      userConfigDirPath: undefined,
    });
  });

  test("registriesConfPaths() with the user file and an explicit drop-in directory uses only that directory", async () => {
    await put(join(home, ".config/containers/registries.conf"), "");
    const paths = await registriesConfPaths(ctx({ systemRegistriesConfDirPath: "/x/d" }));
    expect(paths.configDirPath).toBe("/x/d");
    expect(paths.userConfigDirPath).toBeUndefined();
  });

  test("registriesConfPaths() does not expand variables in explicit paths", async () => {
    expect((await registriesConfPaths(ctx({ systemRegistriesConfPath: "$HOME" }))).configPath).toBe("$HOME");
  });
});

describe("loadRegistriesConfig()", () => {
  test("loadRegistriesConfig() applies the system drop-ins in lexical order, then the user's", async () => {
    const root = join(dir, "root");
    await put(join(root, "etc/containers/registries.conf"), 'unqualified-search-registries = ["base.io"]\n[[registry]]\nlocation = "base.com"');
    await put(join(root, "etc/containers/registries.conf.d/20-b.conf"), 'unqualified-search-registries = ["b.io"]');
    await put(join(root, "etc/containers/registries.conf.d/10-a.conf"), 'unqualified-search-registries = ["a.io"]\n[[registry]]\nlocation = "base.com"\nblocked = true');
    await put(join(root, "etc/containers/registries.conf.d/99-ignored.txt"), "not toml at all [");
    await mkdir(join(root, "etc/containers/registries.conf.d/sub.conf"));
    await put(join(root, "etc/containers/registries.conf.d/sub.conf/x.conf"), "also ignored [");
    await put(join(home, ".config/containers/registries.conf.d/00-user.conf"), 'credential-helpers = ["pass"]');

    const c = await loadRegistriesConfig(ctx({ rootForImplicitAbsolutePaths: root }));
    expect(c.sources).toEqual([
      join(root, "etc/containers/registries.conf"),
      join(root, "etc/containers/registries.conf.d/10-a.conf"),
      join(root, "etc/containers/registries.conf.d/20-b.conf"),
      join(home, ".config/containers/registries.conf.d/00-user.conf"),
    ]);
    expect(c.unqualifiedSearchRegistries).toEqual(["b.io"]);
    expect(c.unqualifiedSearchRegistriesOrigin).toBe(join(root, "etc/containers/registries.conf.d/20-b.conf"));
    expect(c.registries).toEqual([
      { prefix: "base.com", location: "base.com", insecure: false, blocked: true, mirrorByDigestOnly: false, mirrors: [] },
    ]);
    expect(c.credentialHelpers).toEqual(["pass"]);
  });

  test("loadRegistriesConfig() with the user registries.conf ignores the system file and directory", async () => {
    const root = join(dir, "root");
    await put(join(root, "etc/containers/registries.conf"), 'unqualified-search-registries = ["system.io"]');
    await put(join(root, "etc/containers/registries.conf.d/1.conf"), 'short-name-mode = "disabled"');
    await put(join(home, ".config/containers/registries.conf"), 'unqualified-search-registries = ["user.io"]');
    const c = await loadRegistriesConfig(ctx({ rootForImplicitAbsolutePaths: root }));
    expect(c.unqualifiedSearchRegistries).toEqual(["user.io"]);
    expect(c.shortNameMode).toBe("permissive");
    expect(c.sources).toEqual([join(home, ".config/containers/registries.conf")]);
  });

  test("loadRegistriesConfig() treats a missing default file as empty", async () => {
    const c = await loadRegistriesConfig(ctx({ rootForImplicitAbsolutePaths: join(dir, "nothing-here") }));
    expect(c.sources).toEqual([]);
    expect(c.registries).toEqual([]);
    expect(c.credentialHelpers).toEqual(["containers-auth.json"]);
  });

  test("loadRegistriesConfig() fails when an explicitly named file is missing", async () => {
    const missing = join(dir, "missing.conf");
    await expect(loadRegistriesConfig(ctx({ systemRegistriesConfPath: missing, systemRegistriesConfDirPath: join(dir, "d") }))).rejects.toThrow(
      new RegExp(`^${missing.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: does not exist`),
    );
  });

  test("loadRegistriesConfig() names the drop-in that is invalid", async () => {
    const main = await put(join(dir, "r.conf"), "");
    const bad = await put(join(dir, "d/5-bad.conf"), '[[registry]]\nlocation = "https://x.io"');
    const error = await loadRegistriesConfig(ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "d") })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RegistriesConfError);
    expect((error as RegistriesConfError).source).toBe(bad);
    expect((error as RegistriesConfError).field).toBe("registry[0].location");
  });

  test("loadRegistriesConfig() refuses a v1 drop-in but accepts a v1 main file", async () => {
    const main = await put(join(dir, "r.conf"), '[registries.search]\nregistries = ["v1.io"]');
    expect((await loadRegistriesConfig(ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "none") }))).unqualifiedSearchRegistries).toEqual(["v1.io"]);
    await put(join(dir, "d/1.conf"), '[registries.block]\nregistries = ["x.io"]');
    await expect(loadRegistriesConfig(ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "d") }))).rejects.toThrow(
      /1\.conf: registries: drop-in files must use the v2 format/,
    );
  });

  test("loadRegistriesConfig() skips a drop-in that is a symlink to a directory", async () => {
    const main = await put(join(dir, "r.conf"), "");
    await mkdir(join(dir, "elsewhere"));
    await mkdir(join(dir, "d"));
    await symlink(join(dir, "elsewhere"), join(dir, "d/link.conf"));
    await put(join(dir, "d/real.conf"), 'short-name-mode = "enforcing"');
    const c = await loadRegistriesConfig(ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "d") }));
    expect(c.shortNameMode).toBe("enforcing");
    expect(c.sources).toEqual([main, join(dir, "d/real.conf")]);
  });

  test("loadRegistriesConfig() honours an aborted signal", async () => {
    const main = await put(join(dir, "r.conf"), "");
    const controller = new AbortController();
    controller.abort();
    await expect(loadRegistriesConfig(ctx({ systemRegistriesConfPath: main }), { signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });

  test("dropInFiles() of a missing directory is empty", async () => {
    expect(await dropInFiles(join(dir, "no-such-dir"))).toEqual([]);
  });
});

describe("getRegistriesConfig()", () => {
  test("getRegistriesConfig() caches per path set until invalidateRegistriesConfCache()", async () => {
    const main = await put(join(dir, "r.conf"), 'unqualified-search-registries = ["one.io"]');
    const c = ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "d") });
    expect((await getRegistriesConfig(c)).unqualifiedSearchRegistries).toEqual(["one.io"]);
    await writeFile(main, 'unqualified-search-registries = ["two.io"]');
    expect((await getRegistriesConfig(c)).unqualifiedSearchRegistries).toEqual(["one.io"]);
    invalidateRegistriesConfCache();
    expect((await getRegistriesConfig(c)).unqualifiedSearchRegistries).toEqual(["two.io"]);
  });

  test("getRegistriesConfig() does not cache a failure", async () => {
    const main = await put(join(dir, "r.conf"), "invalid = [");
    const c = ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "d") });
    await expect(getRegistriesConfig(c)).rejects.toBeInstanceOf(RegistriesConfError);
    await writeFile(main, 'short-name-mode = "disabled"');
    expect((await getRegistriesConfig(c)).shortNameMode).toBe("disabled");
  });
});

describe("short-name alias file", () => {
  test("shortNameAliasesConfPath() follows the SystemContext, then XDG_CACHE_HOME, then ~/.cache", () => {
    expect(shortNameAliasesConfPath({ userShortNameAliasConfPath: "/x/a.conf" })).toBe("/x/a.conf");
    const uid = process.geteuid?.();
    const expectedDefault =
      uid === 0 ? "/var/cache/containers/short-name-aliases.conf" : join(home, ".cache/containers/short-name-aliases.conf");
    expect(shortNameAliasesConfPath(ctx())).toBe(expectedDefault);
    if (uid !== 0) {
      expect(shortNameAliasesConfPath(ctx({ env: { HOME: home, XDG_CACHE_HOME: "/xdg/cache" } }))).toBe(
        "/xdg/cache/containers/short-name-aliases.conf",
      );
    }
  });

  test("loadShortNameAliases() of a missing file is empty", async () => {
    expect((await loadShortNameAliases(ctx({ userShortNameAliasConfPath: join(dir, "none.conf") }))).size).toBe(0);
  });

  test("addShortNameAlias() writes the normalised alias atomically with mode 0600, and removeShortNameAlias() drops it", async () => {
    const path = join(dir, "cache/containers/short-name-aliases.conf");
    const c = ctx({ userShortNameAliasConfPath: path });
    await addShortNameAlias(c, "alp", "docker.io/alpine");
    await addShortNameAlias(c, "ubi", "registry.access.redhat.com/ubi9");
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dirname(path))).toEqual(["short-name-aliases.conf"]);
    expect(Object.fromEntries(await loadShortNameAliases(c))).toEqual({
      alp: { value: "docker.io/library/alpine", origin: path },
      ubi: { value: "registry.access.redhat.com/ubi9", origin: path },
    });
    await removeShortNameAlias(c, "alp");
    expect([...(await loadShortNameAliases(c)).keys()]).toEqual(["ubi"]);
    expect(await readdir(dirname(path))).toEqual(["short-name-aliases.conf"]);
  });

  test("addShortNameAlias() refuses a bad name or value and leaves the file unchanged", async () => {
    const path = await put(join(dir, "a.conf"), '[aliases]\nx = "quay.io/x"\n');
    const c = ctx({ userShortNameAliasConfPath: path });
    await expect(addShortNameAlias(c, "quay.io/x", "quay.io/y")).rejects.toThrow(/must not contain a registry/);
    await expect(addShortNameAlias(c, "y", "quay.io/y:1")).rejects.toThrow(/must not contain a tag/);
    await expect(addShortNameAlias(c, "y", "library/y")).rejects.toThrow(/must contain a registry/);
    expect(await readFile(path, "utf8")).toBe('[aliases]\nx = "quay.io/x"\n');
  });

  test("removeShortNameAlias() of an unknown name throws RegistriesConfError", async () => {
    const path = await put(join(dir, "a.conf"), '[aliases]\nx = "quay.io/x"\n');
    await expect(removeShortNameAlias(ctx({ userShortNameAliasConfPath: path }), "nope")).rejects.toThrow(/no such alias in this file/);
  });

  test("resolveShortNameWithContext() combines registries.conf, the alias file and ctx.shortNameMode", async () => {
    const main = await put(join(dir, "r.conf"), 'unqualified-search-registries = ["a.io", "b.io"]\n[aliases]\nz = "a.io/zed"');
    const aliasFile = await put(join(dir, "a.conf"), '[aliases]\nz = "b.io/zee"');
    const base = ctx({ systemRegistriesConfPath: main, systemRegistriesConfDirPath: join(dir, "d"), userShortNameAliasConfPath: aliasFile });
    expect((await resolveShortNameWithContext(base, "z:1")).candidates.map(String)).toEqual(["b.io/zee:1"]);
    expect((await resolveShortNameWithContext(base, "y")).candidates.map(String)).toEqual(["a.io/y:latest", "b.io/y:latest"]);
    await expect(resolveShortNameWithContext({ ...base, shortNameMode: "enforcing" }, "y")).rejects.toBeInstanceOf(AmbiguousImageError);
  });
});
