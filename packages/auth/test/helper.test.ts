import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { emptyRegistriesConfig, registriesConfigFromText } from "@stevedore/registries-conf";
import { invalidateRegistriesConfCache } from "@stevedore/registries-conf/node";
import { AbortError, MissingToolError } from "@stevedore/types";
import { CredentialHelperError, findCredentials, getCredentials, removeCredentials, setCredentials } from "@stevedore/auth";
import { b64, makeWorld, type World } from "./fixtures.js";

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  invalidateRegistriesConfCache();
  await w.cleanup();
});

const helperOnly = { registriesConfig: registriesConfigFromText('credential-helpers = ["test"]') };
const filesOnly = { registriesConfig: emptyRegistriesConfig() };

async function helperLog(): Promise<string[]> {
  try {
    return (await readFile(join(w.helperStore, "log"), "utf8")).trim().split("\n");
  } catch {
    return [];
  }
}

describe("credential helper docker-credential-test", () => {
  test("the helper is on the child's PATH only", () => {
    expect(process.env.PATH?.split(":")).not.toContain(join(w.dir, "bin"));
  });

  test("setCredentials() then getCredentials() round-trip through a helper named in registries.conf", async () => {
    expect(await setCredentials(w.ctx(), "r.example.com", "helper-user", "helper-pass", helperOnly)).toBe("credential helper test");
    expect(await findCredentials(w.ctx(), "r.example.com/ns/repo", helperOnly)).toEqual({
      credentials: { username: "helper-user", password: "helper-pass" },
      source: "credential helper test",
    });
    // Helpers are asked for the registry, never the repository.
    expect(await helperLog()).toEqual(["store r.example.com", "get r.example.com"]);
  });

  test("getCredentials() maps the <token> user to an identity token", async () => {
    expect(await getCredentials(w.ctx(), "token.example", helperOnly)).toEqual({ identityToken: "refresh-token-1" });
  });

  test("getCredentials() treats the helper's not-found answer as no credentials", async () => {
    expect(await getCredentials(w.ctx(), "nothing.example", helperOnly)).toBeUndefined();
  });

  test("getCredentials() throws CredentialHelperError with the helper's message when it fails", async () => {
    const error = await getCredentials(w.ctx(), "broken.example", helperOnly).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialHelperError);
    expect((error as CredentialHelperError).code).toBe("ERR_CREDENTIAL_HELPER");
    expect((error as CredentialHelperError).helper).toBe("test");
    expect((error as Error).message).toBe("credential helper docker-credential-test get: exited with status 3: the keychain is locked");
  });

  test("getCredentials() does not quote non-JSON helper output (it could be a secret)", async () => {
    const error = await getCredentials(w.ctx(), "garbage.example", helperOnly).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialHelperError);
    expect((error as Error).message).toMatch(/printed something that is not JSON/);
    expect((error as Error).message).not.toContain("hunter2");
  });

  test("getCredentials() with a helper that is not installed throws MissingToolError", async () => {
    const missing = { registriesConfig: registriesConfigFromText('credential-helpers = ["not-installed"]') };
    const error = await getCredentials(w.ctx(), "r.example.com", missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MissingToolError);
    expect((error as Error).message).toMatch(/docker-credential-not-installed is not installed/);
  });

  test("getCredentials() tries the credential helpers in registries.conf order", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), JSON.stringify({ auths: { "r.example.com": { auth: b64("file:pw") } } }));
    await setCredentials(w.ctx(), "r.example.com", "helper", "pw", helperOnly);
    const helperFirst = { registriesConfig: registriesConfigFromText('credential-helpers = ["test", "containers-auth.json"]') };
    const filesFirst = { registriesConfig: registriesConfigFromText('credential-helpers = ["containers-auth.json", "test"]') };
    expect((await getCredentials(w.ctx(), "r.example.com", helperFirst))?.username).toBe("helper");
    expect((await getCredentials(w.ctx(), "r.example.com", filesFirst))?.username).toBe("file");
    expect((await getCredentials(w.ctx(), "only-in-helper.example", filesFirst))?.username).toBeUndefined();
  });

  test("getCredentials() goes on to the next helper after a failing one and returns what it finds", async () => {
    await w.put(join(w.runtimeDir, "containers/auth.json"), JSON.stringify({ auths: { "broken.example": { auth: b64("file:pw") } } }));
    const both = { registriesConfig: registriesConfigFromText('credential-helpers = ["test", "containers-auth.json"]') };
    expect((await getCredentials(w.ctx(), "broken.example", both))?.username).toBe("file");
  });

  test("getCredentials() reads credential-helpers from the registries.conf of the SystemContext", async () => {
    const conf = await w.put(join(w.dir, "registries.conf"), 'credential-helpers = ["test"]');
    const ctx = w.ctx({ systemRegistriesConfPath: conf, systemRegistriesConfDirPath: join(w.dir, "none") });
    await setCredentials(ctx, "r.example.com", "via-conf", "pw");
    expect((await getCredentials(ctx, "r.example.com"))?.username).toBe("via-conf");
    expect(await readdir(w.runtimeDir)).toEqual([]);
  });

  test("credHelpers in an auth file send the lookup to that helper", async () => {
    const file = await w.put(
      join(w.runtimeDir, "containers/auth.json"),
      JSON.stringify({ credHelpers: { "r.example.com": "test" }, auths: { "r.example.com": { auth: b64("ignored:pw") } } }),
    );
    await setCredentials(w.ctx(), "r.example.com", "stored-in-helper", "pw", filesOnly);
    // The auth file still has only the helper entry and the old auth, untouched.
    expect(JSON.parse(await readFile(file, "utf8")).auths["r.example.com"].auth).toBe(b64("ignored:pw"));
    expect(await findCredentials(w.ctx(), "r.example.com/ns/x", filesOnly)).toEqual({
      credentials: { username: "stored-in-helper", password: "pw" },
      source: `credential helper test (credHelpers in ${file})`,
    });
    expect(await helperLog()).toEqual(["store r.example.com", "get r.example.com"]);
  });

  test("setCredentials() refuses a namespaced key for a helper", async () => {
    await expect(setCredentials(w.ctx(), "r.example.com/ns", "u", "p", helperOnly)).rejects.toThrow(/does not support namespaced keys/);
  });

  test("setCredentials() never puts the password in a helper's error", async () => {
    const error = await setCredentials(w.ctx(), "echo.example", "u", "very-secret-pw", helperOnly).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CredentialHelperError);
    expect((error as Error).message).toMatch(/exited with status 4: cannot store/);
    expect((error as Error).message).not.toContain("very-secret-pw");
    expect((error as Error).message).toContain("<redacted>");
  });

  test("removeCredentials() erases from the helper and reports whether anything was there", async () => {
    await setCredentials(w.ctx(), "r.example.com", "u", "p", helperOnly);
    expect(await removeCredentials(w.ctx(), "r.example.com", helperOnly)).toBe(true);
    expect(await getCredentials(w.ctx(), "r.example.com", helperOnly)).toBeUndefined();
    expect(await removeCredentials(w.ctx(), "r.example.com", helperOnly)).toBe(false);
  });

  test("getCredentials() aborted by its signal throws AbortError", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(getCredentials(w.ctx(), "r.example.com", { ...helperOnly, signal: controller.signal })).rejects.toBeInstanceOf(AbortError);
  });
});
