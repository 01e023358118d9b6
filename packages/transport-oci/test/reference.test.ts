import { mkdir, realpath, symlink } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTransportRegistry, InvalidReferenceError, imageName } from "@stevedore/types";
import { newOCIIndexReference, newOCIReference, ociTransport, parseOCIReference } from "@stevedore/transport-oci";
import { tempDir } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const t = await tempDir();
  root = await realpath(t.dir);
  cleanup = t.cleanup;
  await mkdir(join(root, "real"));
  await symlink(join(root, "real"), join(root, "link"));
});
afterAll(() => cleanup());

describe("ociTransport", () => {
  test("name is oci and it registers in a transport registry", () => {
    expect(ociTransport.name).toBe("oci");
    const r = createTransportRegistry([ociTransport]).parseImageName(`oci:${root}/layout:v1`);
    expect(imageName(r)).toBe(`oci:${root}/layout:v1`);
  });

  test("parseReference() splits at the first colon: the rest is the image name", () => {
    const r = parseOCIReference(`${root}/layout:repo/app:1.0@x+y`);
    expect(r.path).toBe(`${root}/layout`);
    expect(r.image).toBe("repo/app:1.0@x+y");
  });

  test("parseReference() without a colon means no image name", () => {
    const r = parseOCIReference(`${root}/layout`);
    expect(r.image).toBe("");
    expect(r.stringWithinTransport()).toBe(`${root}/layout:`);
  });

  test("stringWithinTransport() round-trips through parseReference()", () => {
    for (const s of [`${root}/a:`, `${root}/a:tag`, `${root}/a:@3`, `${root}/a:x/y--z`]) {
      const r = parseOCIReference(s);
      const again = parseOCIReference(r.stringWithinTransport());
      expect(again.stringWithinTransport()).toBe(r.stringWithinTransport());
      expect(again.image).toBe(r.image);
      expect(again.sourceIndex).toBe(r.sourceIndex);
    }
  });

  test("parseReference() of path:@N selects an index.json position", () => {
    const r = parseOCIReference(`${root}/layout:@2`);
    expect(r.sourceIndex).toBe(2);
    expect(r.image).toBe("");
    expect(newOCIIndexReference(`${root}/layout`, 0).stringWithinTransport()).toBe(`${root}/layout:@0`);
  });

  test("parseReference() rejects invalid image names and indexes with InvalidReferenceError", () => {
    for (const bad of [":tag", `${root}/l:-bad`, `${root}/l:a//b`, `${root}/l:a/`, `${root}/l:UPPER space`, `${root}/l:@-1`, `${root}/l:@x`, `${root}/l:a---b`, `${root}/l:a..b`]) {
      expect(() => parseOCIReference(bad), bad).toThrow(InvalidReferenceError);
    }
  });

  test("parseReference() requires the parent directory to exist", () => {
    expect(() => parseOCIReference(`${root}/missing/layout:t`)).toThrow(InvalidReferenceError);
    expect(() => parseOCIReference(`${root}/layout-not-yet:t`)).not.toThrow();
  });

  test("image names accepted are exactly the containers/image grammar", () => {
    const alnum = fc.stringMatching(/^[A-Za-z0-9]{1,4}$/);
    const sep = fc.constantFrom("-", ".", "_", ":", "@", "+", "--");
    const component = fc.tuple(alnum, fc.array(fc.tuple(sep, alnum), { maxLength: 3 })).map(([a, rest]) => a + rest.map(([s, b]) => s + b).join(""));
    const name = fc.array(component, { minLength: 1, maxLength: 3 }).map((cs) => cs.join("/"));
    fc.assert(fc.property(name, (n) => newOCIReference(`${root}/l`, n).image === n));
    const badChar = fc.constantFrom(" ", "#", "%", "$", "é", "/", "\\");
    fc.assert(
      fc.property(name, badChar, fc.nat(), (n, c, i) => {
        const at = i % (n.length + 1);
        const s = n.slice(0, at) + c + n.slice(at);
        const valid = /^[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*(?:\/[A-Za-z0-9]+(?:(?:[-._:@+]|--)[A-Za-z0-9]+)*)*$/.test(s);
        let ok = true;
        try {
          newOCIReference(`${root}/l`, s);
        } catch (e) {
          ok = false;
          expect(e).toBeInstanceOf(InvalidReferenceError);
        }
        return ok === valid;
      }),
    );
  });

  test("policyConfigurationIdentity() is the resolved directory, without the image name", () => {
    expect(parseOCIReference(`${root}/link:tag`).policyConfigurationIdentity()).toBe(`${root}/real`);
    expect(parseOCIReference(`${root}/real/../real:other`).policyConfigurationIdentity()).toBe(`${root}/real`);
    expect(parseOCIReference(`${root}/new-dir`).policyConfigurationIdentity()).toBe(`${root}/new-dir`);
  });

  test("policyConfigurationNamespaces() lists the directory and its parents, not /", () => {
    const ns = parseOCIReference(`${root}/real:t`).policyConfigurationNamespaces();
    expect(ns[0]).toBe(`${root}/real`);
    expect(ns[1]).toBe(root);
    expect(ns).not.toContain("/");
    expect(ns.at(-1)!.split("/").length).toBe(2);
    for (let i = 1; i < ns.length; i++) expect(ns[i - 1]!.startsWith(ns[i]! + "/")).toBe(true);
  });

  test("dockerReference() is undefined", () => {
    expect(parseOCIReference(`${root}/real:t`).dockerReference()).toBeUndefined();
  });

  test("validatePolicyConfigurationScope() accepts absolute clean paths other than /", () => {
    expect(() => ociTransport.validatePolicyConfigurationScope("/srv/layouts")).not.toThrow();
    expect(() => ociTransport.validatePolicyConfigurationScope("/srv")).not.toThrow();
    for (const bad of ["relative/path", "/", "/srv/", "/srv//x", "/srv/./x", "/srv/../x", "", "~/x"]) {
      expect(() => ociTransport.validatePolicyConfigurationScope(bad), bad).toThrow(InvalidReferenceError);
    }
  });
});
