import { realpath } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { InvalidReferenceError, UnsupportedError, createTransportRegistry, imageName } from "@stevedore/types";
import { newOCIArchiveReference, ociArchiveTransport, parseOCIArchiveReference } from "@stevedore/transport-oci-archive";
import { tempDir } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  const t = await tempDir();
  root = await realpath(t.dir);
  cleanup = t.cleanup;
});
afterAll(() => cleanup());

describe("ociArchiveTransport", () => {
  test("parses file[:image] and file:@N and round-trips through stringWithinTransport()", () => {
    const reg = createTransportRegistry([ociArchiveTransport]);
    for (const s of [`${root}/a.tar:`, `${root}/a.tar:v1`, `${root}/a.tar:@2`, `${root}/a.tar:x/y:z`]) {
      const r = reg.parseImageName(`oci-archive:${s}`);
      expect(imageName(r)).toBe(`oci-archive:${s}`);
    }
    expect(parseOCIArchiveReference(`${root}/a.tar`).stringWithinTransport()).toBe(`${root}/a.tar:`);
    expect(parseOCIArchiveReference(`${root}/a.tar:@2`).sourceIndex).toBe(2);
  });

  test("rejects bad names, a missing parent directory and an empty path", () => {
    for (const bad of [`${root}/a.tar:-x`, `${root}/missing/a.tar`, ":x", `${root}/a.tar:@z`]) {
      expect(() => parseOCIArchiveReference(bad), bad).toThrow(InvalidReferenceError);
    }
  });

  test("identity is the resolved file; namespaces its parents; scopes are absolute clean paths", () => {
    const r = newOCIArchiveReference(`${root}/sub/../a.tar`, "t");
    expect(r.policyConfigurationIdentity()).toBe(`${root}/a.tar`);
    expect(r.policyConfigurationNamespaces()[0]).toBe(`${root}/a.tar`);
    expect(r.policyConfigurationNamespaces()[1]).toBe(root);
    expect(r.dockerReference()).toBeUndefined();
    expect(() => ociArchiveTransport.validatePolicyConfigurationScope("/x/y.tar")).not.toThrow();
    expect(() => ociArchiveTransport.validatePolicyConfigurationScope("x.tar")).toThrow(InvalidReferenceError);
    expect(() => ociArchiveTransport.validatePolicyConfigurationScope("/")).toThrow(InvalidReferenceError);
  });

  test("deleteImage() is not supported", async () => {
    await expect(newOCIArchiveReference(`${root}/a.tar`, "t").deleteImage()).rejects.toBeInstanceOf(UnsupportedError);
  });
});
