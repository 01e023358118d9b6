// The reference objects: frozen, DockerReference-shaped, guarded, and usable
// with foreign DockerReference implementations.
import type { Digest, DockerReference } from "@stevedore/types";
import {
  domain,
  familiarName,
  familiarString,
  isDigested,
  isNamed,
  isNameOnly,
  isTagged,
  parse,
  parseAnyReference,
  parseNormalizedNamed,
  path,
  tagNameOnly,
  trimNamed,
  withDigest,
  withTag,
  type Reference,
} from "@stevedore/reference";
import { describe, expect, test } from "vitest";

const DG = `sha256:${"0123456789abcdef".repeat(4)}` as Digest;

describe("reference objects", () => {
  test("parseNormalizedNamed() returns a frozen DockerReference", () => {
    const ref: DockerReference = parseNormalizedNamed(`busybox:1@${DG}`);
    expect(Object.isFrozen(ref)).toBe(true);
    expect(ref.name).toBe("docker.io/library/busybox");
    expect(ref.tag).toBe("1");
    expect(ref.digest).toBe(DG);
    expect(`${ref}`).toBe(`docker.io/library/busybox:1@${DG}`);
    expect(() => {
      (ref as { tag?: string }).tag = "2";
    }).toThrow(TypeError);
  });

  test("a name-only reference has no tag or digest property at all", () => {
    const ref = parseNormalizedNamed("busybox");
    expect(Object.keys(ref).sort()).toEqual(["domain", "name", "path"]);
    expect(isNameOnly(ref)).toBe(true);
  });

  test("a digest reference from parseAnyReference() has only a digest", () => {
    const ref: Reference = parseAnyReference(DG);
    expect(Object.isFrozen(ref)).toBe(true);
    expect(Object.keys(ref)).toEqual(["digest"]);
    expect(isNamed(ref)).toBe(false);
    expect(isTagged(ref)).toBe(false);
    expect(isDigested(ref)).toBe(true);
    expect(String(ref)).toBe(DG);
    expect(JSON.stringify({ ref })).toBe(JSON.stringify({ ref: DG }));
    expect(familiarString(ref)).toBe(DG);
  });

  test("type guards reject non-references", () => {
    for (const v of [null, undefined, 1, "docker.io/x", {}, { name: "" }, { digest: "sha256:1" }]) {
      expect(isNamed(v)).toBe(false);
      expect(isDigested(v)).toBe(false);
    }
    expect(isTagged({ tag: "x" })).toBe(true);
  });

  test("tagNameOnly() adds latest only to a bare name", () => {
    expect(tagNameOnly(parseNormalizedNamed("busybox")).toString()).toBe("docker.io/library/busybox:latest");
    expect(tagNameOnly(parseNormalizedNamed("busybox:1")).toString()).toBe("docker.io/library/busybox:1");
    expect(tagNameOnly(parseNormalizedNamed(`busybox@${DG}`)).toString()).toBe(`docker.io/library/busybox@${DG}`);
  });

  test("withTag() and withDigest() keep the other part and the domain split", () => {
    const ref = withDigest(withTag(parse("localhost:5000/a/b"), "t"), DG);
    expect(ref.toString()).toBe(`localhost:5000/a/b:t@${DG}`);
    expect(ref.domain).toBe("localhost:5000");
    expect(ref.path).toBe("a/b");
    expect(familiarString(ref)).toBe(`localhost:5000/a/b:t@${DG}`);
  });

  test("familiarString() shortens docker.io names but not nested library paths", () => {
    expect(familiarString(parseNormalizedNamed("docker.io/library/redis:7"))).toBe("redis:7");
    expect(familiarString(parseNormalizedNamed("docker.io/library/a/b:7"))).toBe("library/a/b:7");
    expect(familiarString(parseNormalizedNamed("index.docker.io/user/app"))).toBe("user/app");
  });
});

describe("foreign DockerReference objects", () => {
  const foreign: DockerReference = {
    name: "registry.example.com:5000/team/app",
    tag: "v1",
    toString: () => "registry.example.com:5000/team/app:v1",
  };

  test("domain() and path() split the name of an object without domain/path", () => {
    expect(domain(foreign)).toBe("registry.example.com:5000");
    expect(path(foreign)).toBe("team/app");
  });

  test("withDigest() on a foreign tagged reference keeps its tag", () => {
    expect(withDigest(foreign, DG).toString()).toBe(`registry.example.com:5000/team/app:v1@${DG}`);
  });

  test("trimNamed() and familiarName() work on a foreign docker.io reference", () => {
    const hub: DockerReference = { name: "docker.io/library/nginx", toString: () => "docker.io/library/nginx" };
    expect(familiarName(hub)).toBe("nginx");
    expect(trimNamed(hub).toString()).toBe("docker.io/library/nginx");
  });
});
