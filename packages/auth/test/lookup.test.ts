import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { parseNormalizedNamed } from "@stevedore/reference";
import { emptyRegistriesConfig } from "@stevedore/registries-conf";
import { InvalidConfigurationError, InvalidReferenceError } from "@stevedore/types";
import { findCredentials, getCredentials, getCredentialsForRef } from "@stevedore/auth";
import { b64, makeWorld, type World } from "./fixtures.js";

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.cleanup();
});

const opts = { registriesConfig: emptyRegistriesConfig() };

function authJson(auths: Record<string, object>, extra: object = {}): string {
  return JSON.stringify({ auths, ...extra });
}

describe("getCredentials() key lookup in one auth file", () => {
  const file = authJson({
    "quay.io": { auth: b64("host-user:host-pass") },
    "quay.io/ns": { auth: b64("ns-user:ns-pass") },
    "quay.io/ns/repo": { auth: b64("repo-user:repo-pass") },
    "https://index.docker.io/v1/": { auth: b64("hub-user:hub-pass") },
    "http://legacy.example.com:5000/v1/": { auth: b64("legacy-user:legacy-pass") },
    "localhost:5000": { auth: b64("local-user:pass:with:colons") },
    "token.example.com": { auth: b64("tok-user:tok-pass"), identitytoken: "refresh-me" },
    "nul.example.com": { auth: b64("nul-user:secret\0\0") },
    "empty.example.com": {},
    "nocolon.example.com": { auth: b64("just-a-user") },
    "emptycreds.example.com": { auth: b64(":") },
    "registry-1.docker.io.example": { auth: b64("not-hub:x") },
  });

  /** [key, expected username or undefined] */
  const cases: [string, string | undefined][] = [
    ["quay.io", "host-user"],
    ["quay.io/other", "host-user"],
    ["quay.io/ns", "ns-user"],
    ["quay.io/ns/other", "ns-user"],
    ["quay.io/ns/repo", "repo-user"],
    ["quay.io/ns/repo/deeper", "repo-user"],
    ["docker.io", "hub-user"],
    ["docker.io/library/busybox", "hub-user"],
    ["registry-1.docker.io", "hub-user"],
    ["index.docker.io", "hub-user"],
    ["legacy.example.com:5000", "legacy-user"],
    ["legacy.example.com", undefined],
    ["localhost:5000/x", "local-user"],
    ["empty.example.com", undefined],
    ["nocolon.example.com", undefined],
    ["emptycreds.example.com", undefined],
    ["unknown.example.com", undefined],
  ];
  test.each(cases)("getCredentials(ctx, %j) finds user %j", async (key, username) => {
    const path = await w.put(join(w.runtimeDir, "containers/auth.json"), file);
    const found = await findCredentials(w.ctx(), key, opts);
    expect(found?.credentials.username).toBe(username);
    if (username !== undefined) expect(found?.source).toBe(path);
  });

  test("getCredentials() splits user:password at the first colon", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), file);
    expect(await getCredentials(w.ctx(), "localhost:5000", opts)).toEqual({ username: "local-user", password: "pass:with:colons" });
  });

  test("getCredentials() returns the identity token with the user and password", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), file);
    expect(await getCredentials(w.ctx(), "token.example.com", opts)).toEqual({
      username: "tok-user",
      password: "tok-pass",
      identityToken: "refresh-me",
    });
  });

  test("getCredentials() drops NULs around the password", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), file);
    expect((await getCredentials(w.ctx(), "nul.example.com", opts))?.password).toBe("secret");
  });

  test("getCredentialsForRef() uses the repository name of a reference", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), file);
    expect((await getCredentialsForRef(w.ctx(), parseNormalizedNamed("quay.io/ns/repo:1.0"), opts))?.username).toBe("repo-user");
  });
});

describe("getCredentials() across files", () => {
  test("getCredentials() prefers the runtime auth.json, then XDG_CONFIG_HOME, then docker config, then .dockercfg", async () => {
    const runtime = join(w.runtimeDir, "containers/auth.json");
    const config = join(w.home, ".config/containers/auth.json");
    const docker = join(w.home, ".docker/config.json");
    const legacy = join(w.home, ".dockercfg");
    await w.put(legacy, JSON.stringify({ "https://r.example.com/v1/": { auth: b64("legacy:1"), email: "x@y" } }));
    expect(await findCredentials(w.ctx(), "r.example.com", opts)).toEqual({
      credentials: { username: "legacy", password: "1" },
      source: legacy,
    });
    await w.put(docker, authJson({ "r.example.com": { auth: b64("docker:1") } }, { credsStore: "desktop", psFormat: "x" }));
    expect((await findCredentials(w.ctx(), "r.example.com", opts))?.source).toBe(docker);
    await w.put(config, authJson({ "r.example.com": { auth: b64("config:1") } }));
    expect((await findCredentials(w.ctx(), "r.example.com", opts))?.source).toBe(config);
    await w.put(runtime, authJson({ "r.example.com": { auth: b64("runtime:1") } }));
    expect((await findCredentials(w.ctx(), "r.example.com", opts))?.source).toBe(runtime);
  });

  test("getCredentials() moves to the next file when a file has no usable entry", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), authJson({ "r.example.com": {} }));
    await w.put(join(w.home, ".docker/config.json"), authJson({ "r.example.com": { auth: b64("docker:pw") } }));
    expect(await getCredentials(w.ctx(), "r.example.com", opts)).toEqual({ username: "docker", password: "pw" });
  });

  test("getCredentials() honours DOCKER_CONFIG and XDG_CONFIG_HOME", async () => {
    const dockerDir = join(w.dir, "docker-config");
    await w.put(join(dockerDir, "config.json"), authJson({ "r.example.com": { auth: b64("from-docker-config:pw") } }));
    expect((await getCredentials(w.ctx({}, { DOCKER_CONFIG: dockerDir }), "r.example.com", opts))?.username).toBe("from-docker-config");
    const xdg = join(w.dir, "xdg");
    await w.put(join(xdg, "containers/auth.json"), authJson({ "r.example.com": { auth: b64("from-xdg:pw") } }));
    expect((await getCredentials(w.ctx({}, { XDG_CONFIG_HOME: xdg, DOCKER_CONFIG: dockerDir }), "r.example.com", opts))?.username).toBe(
      "from-xdg",
    );
  });

  test("getCredentials() with ctx.authFilePath ignores the default files", async () => {
    await w.put(join(w.home, ".docker/config.json"), authJson({ "r.example.com": { auth: b64("docker:pw") } }));
    const explicit = await w.put(join(w.dir, "explicit.json"), authJson({ "other.example.com": { auth: b64("x:y") } }));
    expect(await getCredentials(w.ctx({ authFilePath: explicit }), "r.example.com", opts)).toBeUndefined();
    expect(await getCredentials(w.ctx({}, { REGISTRY_AUTH_FILE: explicit }), "r.example.com", opts)).toBeUndefined();
    expect((await getCredentials(w.ctx({}, { REGISTRY_AUTH_FILE: explicit }), "other.example.com", opts))?.username).toBe("x");
  });

  test("getCredentials() reads a legacy file given as legacyFormatAuthFilePath", async () => {
    const legacy = await w.put(join(w.dir, "dockercfg"), JSON.stringify({ "https://index.docker.io/v1/": { auth: b64("hub:pw") } }));
    expect(await getCredentials(w.ctx({ legacyFormatAuthFilePath: legacy }), "docker.io/library/x", opts)).toEqual({
      username: "hub",
      password: "pw",
    });
  });

  test("getCredentials() returns ctx.dockerAuthConfig without reading any file", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), "this is not JSON");
    const found = await findCredentials(w.ctx({ dockerAuthConfig: { username: "explicit", password: "pw" } }), "r.example.com", opts);
    expect(found).toEqual({ credentials: { username: "explicit", password: "pw" }, source: "SystemContext" });
  });

  test("getCredentials() returns undefined when no file exists", async () => {
    expect(await getCredentials(w.ctx(), "r.example.com", opts)).toBeUndefined();
  });
});

describe("getCredentials() errors", () => {
  test("getCredentials() of an invalid key throws InvalidReferenceError before reading anything", async () => {
    await expect(getCredentials(w.ctx({ dockerAuthConfig: { username: "u" } }), "quay.io/x:tag", opts)).rejects.toBeInstanceOf(
      InvalidReferenceError,
    );
  });

  test("getCredentials() of a file that is not JSON names the file and not its content", async () => {
    const path = await w.put(join(w.runtimeDir, "containers/auth.json"), '{"auths": {"r.example.com": {"auth": "c2VjcmV0OnMzY3IzdA=="}}, oops');
    const error = await getCredentials(w.ctx(), "r.example.com", opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).toBe(`auth file ${path}: is not valid JSON`);
    expect((error as Error).cause).toBeUndefined();
  });

  test.each([
    ["an empty file", "", /is not valid JSON/],
    ["a JSON array", "[]", /must hold a JSON object/],
    ["auths as a list", '{"auths": []}', /"auths" must be an object/],
    ["an entry that is a string", '{"auths": {"r.example.com": "x"}}', /"auths"\["r\.example\.com"\] must be an object/],
    ["auth as a number", '{"auths": {"r.example.com": {"auth": 5}}}', /\.auth must be a string/],
    ["credHelpers with a path", '{"credHelpers": {"r.example.com": "../x"}}', /must be a credential helper name/],
  ])("getCredentials() of %s throws InvalidConfigurationError", async (_what, text, message) => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), text);
    await expect(getCredentials(w.ctx(), "r.example.com", opts)).rejects.toThrow(message);
  });

  test("getCredentials() of an entry with invalid base64 names the key, not the value", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), authJson({ "r.example.com": { auth: "s3cr3t!!" } }));
    const error = await getCredentials(w.ctx(), "r.example.com", opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidConfigurationError);
    expect((error as Error).message).toMatch(/the "auth" field of "r\.example\.com" is not valid base64/);
    expect((error as Error).message).not.toContain("s3cr3t");
  });

  test("getCredentials() reports a broken earlier file even when a later one has credentials", async () => {
    // containers/image stops at the first unreadable file of the auth-file helper.
    await w.put(join(w.runtimeDir, "containers/auth.json"), "{");
    await w.put(join(w.home, ".docker/config.json"), authJson({ "r.example.com": { auth: b64("docker:pw") } }));
    await expect(getCredentials(w.ctx(), "r.example.com", opts)).rejects.toBeInstanceOf(InvalidConfigurationError);
  });
});
