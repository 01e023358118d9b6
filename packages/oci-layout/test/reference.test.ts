import { posix } from "node:path";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { cleanPath, ociPolicyNamespaces, parseOCIReferenceElements, splitPathAndImage, validateOCIScope } from "@stevedore/oci-layout";
import { InvalidReferenceError } from "@stevedore/types";

describe("reference helpers", () => {
  test("splitPathAndImage() splits at the first colon", () => {
    expect(splitPathAndImage("/a/b:c:d")).toEqual({ path: "/a/b", image: "c:d" });
    expect(splitPathAndImage("/a/b")).toEqual({ path: "/a/b", image: "" });
  });

  test("parseOCIReferenceElements() reads @N and refuses an empty path", () => {
    expect(parseOCIReferenceElements("/x:@12")).toEqual({ path: "/x", image: "", sourceIndex: 12 });
    expect(() => parseOCIReferenceElements(":t")).toThrow(InvalidReferenceError);
    expect(() => parseOCIReferenceElements("/x:@1.5")).toThrow(InvalidReferenceError);
  });

  test("cleanPath() agrees with a lexical normalisation for absolute paths", () => {
    const seg = fc.constantFrom("a", "b", ".", "..", "", "c.d");
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 8 }), (parts) => {
        const p = "/" + parts.join("/");
        const expected = posix.normalize(p).replace(/(.)\/$/, "$1");
        expect(cleanPath(p)).toBe(expected);
        expect(cleanPath(cleanPath(p))).toBe(cleanPath(p));
      }),
    );
    expect(cleanPath("a/../../b")).toBe("../b");
    expect(cleanPath("")).toBe(".");
  });

  test("validateOCIScope() takes only absolute clean paths other than /", () => {
    expect(() => validateOCIScope("/a/b")).not.toThrow();
    for (const s of ["/", "a", "/a/", "/a/./b"]) expect(() => validateOCIScope(s)).toThrow(InvalidReferenceError);
  });

  test("ociPolicyNamespaces() lists the path and its parents without /", () => {
    expect(ociPolicyNamespaces("/a/b/c")).toEqual(["/a/b/c", "/a/b", "/a"]);
    expect(ociPolicyNamespaces("/a")).toEqual(["/a"]);
  });
});
