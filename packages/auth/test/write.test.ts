import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { emptyRegistriesConfig } from "@stevedore/registries-conf";
import { InvalidReferenceError, UnsupportedError } from "@stevedore/types";
import { getCredentials, removeCredentials, setCredentials } from "@stevedore/auth";
import { b64, makeWorld, type World } from "./fixtures.js";

let w: World;
beforeEach(async () => {
  w = await makeWorld();
});
afterEach(async () => {
  await w.cleanup();
});

const opts = { registriesConfig: emptyRegistriesConfig() };

describe("setCredentials()", () => {
  test("setCredentials() creates the auth file with mode 0600 in a 0700 directory and leaves no temporary file", async () => {
    const path = join(w.runtimeDir, "containers/auth.json");
    expect(await setCredentials(w.ctx(), "r.example.com", "user", "pässwörd", opts)).toBe(path);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(w.runtimeDir, "containers"))).mode & 0o777).toBe(0o700);
    expect(await readdir(join(w.runtimeDir, "containers"))).toEqual(["auth.json"]);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ auths: { "r.example.com": { auth: b64("user:pässwörd") } } });
    expect(await getCredentials(w.ctx(), "r.example.com", opts)).toEqual({ username: "user", password: "pässwörd" });
  });

  test("setCredentials() replaces an existing 0644 file atomically, ending with mode 0600", async () => {
    const path = await w.put(join(w.dir, "auth.json"), JSON.stringify({ auths: {} }));
    await import("node:fs/promises").then((fs) => fs.chmod(path, 0o644));
    const inodeBefore = (await stat(path)).ino;
    await setCredentials(w.ctx({ authFilePath: path }), "r.example.com", "u", "p", opts);
    const after = await stat(path);
    expect(after.mode & 0o777).toBe(0o600);
    expect(after.ino).not.toBe(inodeBefore); // renamed into place, not rewritten in place
    expect((await readdir(w.dir)).filter((n) => n.includes("auth.json"))).toEqual(["auth.json"]);
  });

  test("setCredentials() keeps other entries and fields it does not know, and replaces the entry for the key", async () => {
    const path = await w.put(
      join(w.dir, "config.json"),
      JSON.stringify({
        auths: {
          "r.example.com": { auth: b64("old:old"), identitytoken: "stale", email: "x@example.com" },
          "other.example.com": { auth: b64("o:o"), extra: 1 },
        },
        credHelpers: { "gcr.io": "gcloud" },
        psFormat: "table {{.ID}}",
      }),
    );
    await setCredentials(w.ctx({ authFilePath: path }), "r.example.com", "new", "pw", opts);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({
      auths: {
        "r.example.com": { auth: b64("new:pw") },
        "other.example.com": { auth: b64("o:o"), extra: 1 },
      },
      credHelpers: { "gcr.io": "gcloud" },
      psFormat: "table {{.ID}}",
    });
  });

  test("setCredentials() stores a namespaced key in the auth file, used for that repository only", async () => {
    await setCredentials(w.ctx(), "r.example.com/team", "team-user", "pw", opts);
    expect((await getCredentials(w.ctx(), "r.example.com/team/app", opts))?.username).toBe("team-user");
    expect(await getCredentials(w.ctx(), "r.example.com/other/app", opts)).toBeUndefined();
  });

  test.each(["https://r.example.com", "r.example.com/x@sha256:abc", "r.example.com/x:tag"])(
    "setCredentials() with the invalid key %j throws InvalidReferenceError and writes nothing",
    async (key) => {
      await expect(setCredentials(w.ctx(), key, "u", "p", opts)).rejects.toBeInstanceOf(InvalidReferenceError);
      expect(await readdir(w.runtimeDir)).toEqual([]);
    },
  );

  test("setCredentials() to a legacy-format file is not supported", async () => {
    await expect(setCredentials(w.ctx({ legacyFormatAuthFilePath: join(w.dir, ".dockercfg") }), "r.example.com", "u", "p", opts)).rejects.toBeInstanceOf(
      UnsupportedError,
    );
  });

  test("setCredentials() leaves an unparsable auth file as it was and names it without its content", async () => {
    const path = await w.put(join(w.dir, "auth.json"), '{"auths": {"r.example.com": {"auth": "dG9wOnNlY3JldA=="}} broken');
    const error = await setCredentials(w.ctx({ authFilePath: path }), "r.example.com", "u", "p", opts).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`auth file ${path}: is not valid JSON`);
    expect(await readFile(path, "utf8")).toBe('{"auths": {"r.example.com": {"auth": "dG9wOnNlY3JldA=="}} broken');
  });

  test("setCredentials() stores a key named __proto__ as an entry", async () => {
    const path = join(w.dir, "auth.json");
    await setCredentials(w.ctx({ authFilePath: path }), "__proto__", "u", "p", opts);
    const raw = await readFile(path, "utf8");
    expect(raw).toContain('"__proto__"');
    expect((await getCredentials(w.ctx({ authFilePath: path }), "__proto__", opts))?.username).toBe("u");
  });

  test("setCredentials() fails when the auth file's directory cannot be created, leaving nothing behind", async () => {
    const blocker = await w.put(join(w.dir, "not-a-dir"), "file");
    await expect(setCredentials(w.ctx({ authFilePath: join(blocker, "auth.json") }), "r.example.com", "u", "p", opts)).rejects.toThrow();
    expect(await readFile(blocker, "utf8")).toBe("file");
  });
});

describe("removeCredentials()", () => {
  test("removeCredentials() deletes the exact key, keeps the rest, and rewrites with mode 0600", async () => {
    const dir = join(w.runtimeDir, "containers");
    await mkdir(dir);
    const path = join(dir, "auth.json");
    await writeFile(
      path,
      JSON.stringify({ auths: { "r.example.com": { auth: b64("a:b") }, "r.example.com/ns": { auth: b64("c:d") } } }),
      { mode: 0o644 },
    );
    expect(await removeCredentials(w.ctx(), "r.example.com", opts)).toBe(true);
    expect(JSON.parse(await readFile(path, "utf8"))).toEqual({ auths: { "r.example.com/ns": { auth: b64("c:d") } } });
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["auth.json"]);
  });

  test("removeCredentials() of a key that is not there returns false and leaves the file alone", async () => {
    const path = await w.put(join(w.dir, "auth.json"), '{"auths":{}}');
    expect(await removeCredentials(w.ctx({ authFilePath: path }), "r.example.com", opts)).toBe(false);
    expect(await readFile(path, "utf8")).toBe('{"auths":{}}');
  });

  test("removeCredentials() without an auth file returns false and creates nothing", async () => {
    expect(await removeCredentials(w.ctx(), "r.example.com", opts)).toBe(false);
    expect(await readdir(w.runtimeDir)).toEqual([]);
  });

  test("removeCredentials() validates the key", async () => {
    await expect(removeCredentials(w.ctx(), "http://r.example.com", opts)).rejects.toBeInstanceOf(InvalidReferenceError);
  });
});
