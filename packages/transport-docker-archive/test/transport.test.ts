import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvalidReferenceError, UnsupportedError, createTransportRegistry, imageName } from "@stevedore/types";
import {
  DockerArchiveReference,
  dockerArchiveTransport,
  newDockerArchiveIndexReference,
  newDockerArchiveReference,
} from "@stevedore/transport-docker-archive";

const HEX = "0123456789abcdef".repeat(4);

function parse(s: string): DockerArchiveReference {
  return dockerArchiveTransport.parseReference(s) as DockerArchiveReference;
}

describe("dockerArchiveTransport.parseReference()", () => {
  test.each([
    ["/path", "/path", undefined, undefined, "/path"],
    ["/path:busybox:notlatest", "/path", "docker.io/library/busybox:notlatest", undefined, "/path:docker.io/library/busybox:notlatest"],
    ["/path:busybox", "/path", "docker.io/library/busybox:latest", undefined, "/path:docker.io/library/busybox:latest"],
    ["/path:docker.io/library/busybox:latest", "/path", "docker.io/library/busybox:latest", undefined, "/path:docker.io/library/busybox:latest"],
    ["/path:example.com/ns/foo:bar", "/path", "example.com/ns/foo:bar", undefined, "/path:example.com/ns/foo:bar"],
    ["/path:localhost:5000/x:y", "/path", "localhost:5000/x:y", undefined, "/path:localhost:5000/x:y"],
    ["/path:@0", "/path", undefined, 0, "/path:@0"],
    ["/path:@999999", "/path", undefined, 999999, "/path:@999999"],
    ["relative/file.tar", "relative/file.tar", undefined, undefined, "relative/file.tar"],
  ])("parseReference(%j) gives the path, tag and index, and round-trips", (input, path, tag, index, within) => {
    const r = parse(input);
    expect(r.path).toBe(path);
    expect(r.namedTagged?.toString()).toBe(tag);
    expect(r.dockerReference()?.toString()).toBe(tag);
    expect(r.sourceIndex).toBe(index);
    expect(r.stringWithinTransport()).toBe(within);
    expect(parse(r.stringWithinTransport()).stringWithinTransport()).toBe(within);
    expect(r.transport).toBe(dockerArchiveTransport);
    expect(r.policyConfigurationIdentity()).toBe("");
    expect(r.policyConfigurationNamespaces()).toEqual([]);
  });

  test.each([
    ["", /of the form|expected/],
    [":busybox", /path is empty/],
    ["/path:busybox@sha256:" + HEX, /digest/],
    ["/path:busybox:latest@sha256:" + HEX, /digest/],
    ["/path:UPPERCASEISINVALID", /lowercase/],
    ["/path:@", /not a number/],
    ["/path:@-2", /must not be negative/],
    ["/path:@-1", /must not be negative/],
    ["/path:@x", /not a number/],
    ["/path:busybox@0", /invalid/],
    ["/path:@0:busybox", /not a number/],
    ["/path:" + HEX, /64-byte hexadecimal|hexadecimal/],
  ])("parseReference(%j) throws InvalidReferenceError", (input, message) => {
    let err: unknown;
    try {
      parse(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidReferenceError);
    expect((err as Error).message).toMatch(message);
  });

  test("stringWithinTransport() round-trips through parseReference() for generated references", () => {
    const pathArb = fc.stringMatching(/^[a-zA-Z0-9_./ -]{1,30}$/).filter((p) => !p.includes(":"));
    const nameArb = fc.stringMatching(/^[a-z0-9]{1,8}(\/[a-z0-9]{1,8}){0,2}$/);
    const tagArb = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/);
    fc.assert(
      fc.property(pathArb, fc.oneof(fc.constant(undefined), fc.tuple(nameArb, tagArb), fc.nat()), (path, suffix) => {
        const input = suffix === undefined ? path : Array.isArray(suffix) ? `${path}:${suffix[0]}:${suffix[1]}` : `${path}:@${suffix}`;
        let ref: DockerArchiveReference;
        try {
          ref = parse(input);
        } catch (e) {
          // Only names the reference grammar refuses (e.g. a 64-hex name) may fail.
          expect(e).toBeInstanceOf(InvalidReferenceError);
          return;
        }
        const again = parse(ref.stringWithinTransport());
        expect(again.path).toBe(ref.path);
        expect(again.namedTagged?.toString()).toBe(ref.namedTagged?.toString());
        expect(again.sourceIndex).toBe(ref.sourceIndex);
        expect(again.stringWithinTransport()).toBe(ref.stringWithinTransport());
      }),
    );
  });

  test("a registry parses docker-archive: names and imageName() prints them back", () => {
    const reg = createTransportRegistry([dockerArchiveTransport]);
    const r = reg.parseImageName("docker-archive:/tmp/x.tar:busybox");
    expect(imageName(r)).toBe("docker-archive:/tmp/x.tar:docker.io/library/busybox:latest");
  });
});

describe("dockerArchiveTransport.validatePolicyConfigurationScope()", () => {
  test.each(["docker.io/library/busybox:notlatest", "docker.io/library/busybox", "docker.io/library", "docker.io", "/tmp/x.tar", ""])(
    "validatePolicyConfigurationScope(%j) throws InvalidReferenceError (only the default scope applies)",
    (scope) => {
      expect(() => dockerArchiveTransport.validatePolicyConfigurationScope(scope)).toThrow(InvalidReferenceError);
    },
  );
});

describe("reference constructors", () => {
  test("newDockerArchiveReference() normalises and tags the name", () => {
    expect(newDockerArchiveReference("a.tar", "busybox").stringWithinTransport()).toBe("a.tar:docker.io/library/busybox:latest");
    expect(newDockerArchiveReference("a.tar").stringWithinTransport()).toBe("a.tar");
    expect(() => newDockerArchiveReference("with:colon")).toThrow(InvalidReferenceError);
  });

  test("newDockerArchiveIndexReference() takes a non-negative index only", () => {
    expect(newDockerArchiveIndexReference("a.tar", 3).stringWithinTransport()).toBe("a.tar:@3");
    expect(() => newDockerArchiveIndexReference("a.tar", -1)).toThrow(InvalidReferenceError);
    expect(() => newDockerArchiveIndexReference("a.tar", 1.5)).toThrow(InvalidReferenceError);
  });

  test("deleteImage() throws UnsupportedError", async () => {
    await expect(parse("/tmp/x.tar").deleteImage()).rejects.toBeInstanceOf(UnsupportedError);
  });
});
