import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { InvalidConfigurationError } from "@stevedore/types";
import { authFilePathForWrite, authFilePaths } from "@stevedore/auth";
import { makeWorld, type World } from "./fixtures.js";

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.cleanup();
});

const uid = process.getuid?.() ?? 0;

describe("authFilePaths()", () => {
  test("authFilePaths() lists the runtime, config, docker and legacy files in order", async () => {
    expect(await authFilePaths(w.ctx())).toEqual([
      { path: join(w.runtimeDir, "containers/auth.json"), legacyFormat: false },
      { path: join(w.home, ".config/containers/auth.json"), legacyFormat: false },
      { path: join(w.home, ".docker/config.json"), legacyFormat: false },
      { path: join(w.home, ".dockercfg"), legacyFormat: true },
    ]);
  });

  test("authFilePaths() follows XDG_CONFIG_HOME and DOCKER_CONFIG", async () => {
    const paths = await authFilePaths(w.ctx({}, { XDG_CONFIG_HOME: "/xdg/config", DOCKER_CONFIG: "/dockercfg-dir" }));
    expect(paths.map((p) => p.path)).toEqual([
      join(w.runtimeDir, "containers/auth.json"),
      "/xdg/config/containers/auth.json",
      "/dockercfg-dir/config.json",
      join(w.home, ".dockercfg"),
    ]);
  });

  test("authFilePaths() uses /run/containers/<uid>/auth.json when XDG_RUNTIME_DIR is unset", async () => {
    const paths = await authFilePaths(w.ctx({}, { XDG_RUNTIME_DIR: undefined }));
    expect(paths[0]).toEqual({ path: `/run/containers/${uid}/auth.json`, legacyFormat: false });
  });

  test("authFilePaths() puts the per-uid file under rootForImplicitAbsolutePaths", async () => {
    const paths = await authFilePaths(w.ctx({ rootForImplicitAbsolutePaths: "/mnt/root" }));
    expect(paths[0]).toEqual({ path: `/mnt/root/run/containers/${uid}/auth.json`, legacyFormat: false });
    expect(paths).toHaveLength(4);
  });

  test("authFilePaths() skips the runtime file when XDG_RUNTIME_DIR does not exist", async () => {
    const paths = await authFilePaths(w.ctx({}, { XDG_RUNTIME_DIR: join(w.dir, "missing") }));
    expect(paths.map((p) => p.path)).toEqual([
      join(w.home, ".config/containers/auth.json"),
      join(w.home, ".docker/config.json"),
      join(w.home, ".dockercfg"),
    ]);
  });

  test("authFilePaths() with ctx.authFilePath consults that file only", async () => {
    expect(await authFilePaths(w.ctx({ authFilePath: "/x/auth.json" }, { REGISTRY_AUTH_FILE: "/y/auth.json" }))).toEqual([
      { path: "/x/auth.json", legacyFormat: false },
    ]);
  });

  test("authFilePaths() with REGISTRY_AUTH_FILE consults that file only", async () => {
    expect(await authFilePaths(w.ctx({}, { REGISTRY_AUTH_FILE: "/y/auth.json" }))).toEqual([
      { path: "/y/auth.json", legacyFormat: false },
    ]);
  });

  test("authFilePaths() with ctx.legacyFormatAuthFilePath consults that legacy file only", async () => {
    expect(await authFilePaths(w.ctx({ legacyFormatAuthFilePath: "/z/.dockercfg" }))).toEqual([
      { path: "/z/.dockercfg", legacyFormat: true },
    ]);
  });
});

describe("authFilePathForWrite()", () => {
  test("authFilePathForWrite() is the runtime auth.json by default", async () => {
    expect(await authFilePathForWrite(w.ctx())).toEqual({ path: join(w.runtimeDir, "containers/auth.json"), legacyFormat: false });
  });

  test("authFilePathForWrite() is ctx.authFilePath when set", async () => {
    expect((await authFilePathForWrite(w.ctx({ authFilePath: "/x/a.json" }))).path).toBe("/x/a.json");
  });

  test("authFilePathForWrite() throws when XDG_RUNTIME_DIR names a missing directory", async () => {
    const missing = join(w.dir, "missing");
    await expect(authFilePathForWrite(w.ctx({}, { XDG_RUNTIME_DIR: missing }))).rejects.toBeInstanceOf(InvalidConfigurationError);
    await expect(authFilePathForWrite(w.ctx({}, { XDG_RUNTIME_DIR: missing }))).rejects.toThrow(/\$XDG_RUNTIME_DIR does not exist/);
  });
});
