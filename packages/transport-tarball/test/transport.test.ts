import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { InvalidReferenceError, UnsupportedError, createTransportRegistry } from "@stevedore/types";
import { TarballReference, newTarballReference, tarballTransport } from "@stevedore/transport-tarball";
import { tempDir } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
let a: string;
let b: string;
beforeEach(async () => {
  t = await tempDir();
  a = join(t.dir, "a.tar");
  b = join(t.dir, "b.tar.gz");
  await writeFile(a, "x");
  await writeFile(b, "y");
});
afterEach(() => t.cleanup());

describe("tarballTransport.parseReference()", () => {
  test("splits the files at ':' and keeps their order", () => {
    const ref = tarballTransport.parseReference(`${a}:${b}`);
    expect(ref).toBeInstanceOf(TarballReference);
    expect((ref as TarballReference).files).toEqual([a, b]);
    expect(ref.stringWithinTransport()).toBe(`${a}:${b}`);
    expect(tarballTransport.parseReference(ref.stringWithinTransport()).stringWithinTransport()).toBe(ref.stringWithinTransport());
  });

  test("a missing file fails with InvalidReferenceError naming it", () => {
    expect(() => tarballTransport.parseReference(`${a}:${join(t.dir, "missing.tar")}`)).toThrow(InvalidReferenceError);
    expect(() => tarballTransport.parseReference(join(t.dir, "missing.tar"))).toThrow(/missing\.tar/);
  });

  test("a directory, or an empty name, fails with InvalidReferenceError", async () => {
    await mkdir(join(t.dir, "d"));
    expect(() => tarballTransport.parseReference(join(t.dir, "d"))).toThrow(InvalidReferenceError);
    expect(() => tarballTransport.parseReference("")).toThrow(InvalidReferenceError);
    expect(() => tarballTransport.parseReference(`${a}:`)).toThrow(InvalidReferenceError);
  });

  test("'-' (standard input) fails with UnsupportedError", () => {
    expect(() => tarballTransport.parseReference("-")).toThrow(UnsupportedError);
    expect(() => tarballTransport.parseReference(`${a}:-`)).toThrow(/not supported/);
  });

  test("the registry parses tarball:file", () => {
    expect(createTransportRegistry([tarballTransport]).parseImageName(`tarball:${a}`).stringWithinTransport()).toBe(a);
  });
});

describe("TarballReference", () => {
  test("has no policy identity, namespaces or docker reference", () => {
    const ref = newTarballReference([a]);
    expect(ref.policyConfigurationIdentity()).toBe("");
    expect(ref.policyConfigurationNamespaces()).toEqual([]);
    expect(ref.dockerReference()).toBeUndefined();
    expect(ref.transport).toBe(tarballTransport);
  });

  test("newImageDestination() fails with UnsupportedError: the transport only reads", async () => {
    await expect(newTarballReference([a]).newImageDestination()).rejects.toBeInstanceOf(UnsupportedError);
    await expect(newTarballReference([a]).newImageDestination()).rejects.toThrow(/the tarball transport only reads/);
  });

  test("deleteImage() is refused and leaves the files alone", async () => {
    const { readdir } = await import("node:fs/promises");
    const before = await readdir(t.dir);
    await expect(newTarballReference([a, b]).deleteImage()).rejects.toBeInstanceOf(UnsupportedError);
    expect(await readdir(t.dir)).toEqual(before);
  });
});

describe("tarballTransport.validatePolicyConfigurationScope()", () => {
  test.each(["/", "/abs/path", "relative", "docker.io/library/busybox", "*"])("rejects %j", (s) => {
    expect(() => tarballTransport.validatePolicyConfigurationScope(s)).toThrow(InvalidReferenceError);
  });
});
