import { mkdir, realpath, symlink } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { InvalidReferenceError, UnsupportedError, createTransportRegistry } from "@stevedore/types";
import { DirReference, dirTransport, newDirReference } from "@stevedore/transport-dir";
import { tempDir } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
let real: string;
beforeAll(async () => {
  t = await tempDir();
  real = await realpath(t.dir);
  await mkdir(join(t.dir, "a", "b"), { recursive: true });
  await symlink(join(t.dir, "a"), join(t.dir, "link"));
});
afterAll(() => t.cleanup());

describe("dirTransport.parseReference()", () => {
  test("an existing directory resolves to its absolute real path", () => {
    const ref = dirTransport.parseReference(join(t.dir, "a", "b"));
    expect(ref).toBeInstanceOf(DirReference);
    expect(ref.policyConfigurationIdentity()).toBe(join(real, "a", "b"));
    expect(ref.transport).toBe(dirTransport);
  });

  test("a path that does not exist yet resolves through its existing parent", () => {
    const ref = dirTransport.parseReference(join(t.dir, "a", "new"));
    expect(ref.policyConfigurationIdentity()).toBe(join(real, "a", "new"));
  });

  test("symbolic links in the path are resolved for the identity but kept in stringWithinTransport()", () => {
    const p = join(t.dir, "link", "b");
    const ref = dirTransport.parseReference(p);
    expect(ref.policyConfigurationIdentity()).toBe(join(real, "a", "b"));
    expect(ref.stringWithinTransport()).toBe(p);
  });

  test("a relative path is resolved against the working directory", () => {
    const rel = relative(process.cwd(), join(t.dir, "a", "b"));
    expect(dirTransport.parseReference(rel).policyConfigurationIdentity()).toBe(join(real, "a", "b"));
  });

  test("'///abs' is read as '/abs'", () => {
    expect(dirTransport.parseReference(`//${join(t.dir, "a")}`).policyConfigurationIdentity()).toBe(join(real, "a"));
  });

  test("a missing parent directory fails with InvalidReferenceError naming it", () => {
    expect(() => dirTransport.parseReference(join(t.dir, "nope", "x"))).toThrow(InvalidReferenceError);
    expect(() => dirTransport.parseReference(join(t.dir, "nope", "x"))).toThrow(/parent directory/);
  });

  test("an empty path fails with InvalidReferenceError", () => {
    expect(() => dirTransport.parseReference("")).toThrow(InvalidReferenceError);
  });

  test("stringWithinTransport() round-trips through parseReference()", () => {
    for (const p of [join(t.dir, "a"), join(t.dir, "a", "new"), join(t.dir, "link", "b")]) {
      const ref = dirTransport.parseReference(p);
      const again = dirTransport.parseReference(ref.stringWithinTransport());
      expect(again.stringWithinTransport()).toBe(ref.stringWithinTransport());
      expect(again.policyConfigurationIdentity()).toBe(ref.policyConfigurationIdentity());
    }
  });

  test("the registry parses dir:path", () => {
    const ref = createTransportRegistry([dirTransport]).parseImageName(`dir:${join(t.dir, "a")}`);
    expect(ref.policyConfigurationIdentity()).toBe(join(real, "a"));
  });
});

describe("DirReference", () => {
  test("policyConfigurationNamespaces() lists every parent, nearest first, without '/'", () => {
    const ref = new DirReference("x", "/var/lib/images/app");
    expect(ref.policyConfigurationNamespaces()).toEqual(["/var/lib/images", "/var/lib", "/var"]);
    expect(new DirReference("x", "/top").policyConfigurationNamespaces()).toEqual([]);
  });

  test("dockerReference() is undefined", () => {
    expect(newDirReference(join(t.dir, "a")).dockerReference()).toBeUndefined();
  });

  test("deleteImage() fails with UnsupportedError", async () => {
    await expect(newDirReference(join(t.dir, "a")).deleteImage()).rejects.toBeInstanceOf(UnsupportedError);
  });
});

describe("dirTransport.validatePolicyConfigurationScope()", () => {
  test("accepts absolute clean paths", () => {
    for (const s of ["/a", "/a/b/c", "/var/lib/images"]) expect(() => dirTransport.validatePolicyConfigurationScope(s)).not.toThrow();
  });

  test.each(["a/b", "./a", "/", "/a/", "/a//b", "/a/./b", "/a/../b", ""])("rejects %j with InvalidReferenceError", (s) => {
    expect(() => dirTransport.validatePolicyConfigurationScope(s)).toThrow(InvalidReferenceError);
  });
});
