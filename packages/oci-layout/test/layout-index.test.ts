import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  REF_NAME_ANNOTATION,
  emptyLayoutIndex,
  makeLayoutDescriptor,
  parseLayoutIndex,
  selectImage,
  serializeLayoutIndex,
  withManifest,
  withoutManifestAt,
} from "@stevedore/oci-layout";
import {
  AmbiguousImageError,
  ImageNotFoundError,
  InvalidArchiveError,
  InvalidDigestError,
  UnsupportedManifestTypeError,
  digestOf,
  fromUtf8,
  utf8,
  type Digest,
} from "@stevedore/types";

const M = "application/vnd.oci.image.manifest.v1+json";
const I = "application/vnd.oci.image.index.v1+json";
const dg = (s: string): Digest => digestOf(utf8(s));

describe("parseLayoutIndex()", () => {
  test("parses descriptors and keeps unknown fields through serializeLayoutIndex()", () => {
    const src = {
      schemaVersion: 2,
      annotations: { a: "b" },
      manifests: [{ mediaType: M, digest: dg("x"), size: 3, platform: { os: "linux", architecture: "amd64" }, annotations: { [REF_NAME_ANNOTATION]: "v1" } }],
    };
    const idx = parseLayoutIndex(utf8(JSON.stringify(src)), "/l");
    expect(idx.manifests[0]!.digest).toBe(dg("x"));
    expect(idx.manifests[0]!.annotations?.[REF_NAME_ANNOTATION]).toBe("v1");
    expect(JSON.parse(fromUtf8(serializeLayoutIndex(idx)))).toEqual(src);
  });

  test("rejects invalid digests with InvalidDigestError naming the entry", () => {
    for (const d of ["sha256:../../x", "sha256:" + "A".repeat(64), "md5:abc", 7]) {
      const bytes = utf8(JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: M, digest: d, size: 1 }] }));
      expect(() => parseLayoutIndex(bytes, "/l")).toThrow(InvalidDigestError);
      try {
        parseLayoutIndex(bytes, "/l");
      } catch (e) {
        expect((e as Error).message).toContain("manifests[0]");
      }
    }
  });

  test("rejects malformed documents with InvalidArchiveError", () => {
    for (const bad of ["", "[]", "{", '{"schemaVersion":1}', '{"manifests":{}}', `{"manifests":[{"digest":"${dg("a")}","size":-1}]}`, `{"manifests":[{"digest":"${dg("a")}","size":1,"annotations":{"k":1}}]}`, `{"manifests":[{"digest":"${dg("a")}","size":1,"urls":"x"}]}`, `{"manifests":[5]}`]) {
      expect(() => parseLayoutIndex(utf8(bad), "/l"), bad).toThrow(InvalidArchiveError);
    }
  });
});

describe("withManifest()", () => {
  test("a named entry takes the name from every older entry that had it", () => {
    let idx = emptyLayoutIndex();
    idx = withManifest(idx, makeLayoutDescriptor(M, dg("a"), 1, "t"));
    idx = withManifest(idx, makeLayoutDescriptor(M, dg("b"), 1, "u"));
    idx = withManifest(idx, makeLayoutDescriptor(M, dg("c"), 1, "t"));
    expect(idx.manifests.map((m) => [m.digest, m.annotations?.[REF_NAME_ANNOTATION]])).toEqual([
      [dg("a"), undefined],
      [dg("b"), "u"],
      [dg("c"), "t"],
    ]);
    expect("annotations" in idx.manifests[0]!.json).toBe(false);
  });

  test("replaces an unnamed entry with the same digest, appends otherwise", () => {
    let idx = withManifest(emptyLayoutIndex(), makeLayoutDescriptor(M, dg("a"), 1));
    idx = withManifest(idx, makeLayoutDescriptor(M, dg("a"), 1, "named"));
    expect(idx.manifests).toHaveLength(1);
    idx = withManifest(idx, makeLayoutDescriptor(M, dg("a"), 1, "second"));
    expect(idx.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(["named", "second"]);
    idx = withManifest(idx, makeLayoutDescriptor(M, dg("a"), 1, "named"));
    expect(idx.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION])).toEqual(["named", "second"]);
  });

  test("keeps other annotations of an entry that loses its name", () => {
    const src = { manifests: [{ mediaType: M, digest: dg("a"), size: 1, annotations: { [REF_NAME_ANNOTATION]: "t", other: "kept" } }] };
    const idx = withManifest(parseLayoutIndex(utf8(JSON.stringify(src)), "/l"), makeLayoutDescriptor(M, dg("b"), 1, "t"));
    expect(idx.manifests[0]!.json["annotations"]).toEqual({ other: "kept" });
  });

  test("property: after adding a named entry, exactly one entry has that name and it is the new one", () => {
    const entry = fc.record({ d: fc.constantFrom("a", "b", "c", "d"), n: fc.option(fc.constantFrom("x", "y", "z"), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 12 }), entry, (ops, last) => {
        let idx = emptyLayoutIndex();
        for (const o of [...ops, last]) idx = withManifest(idx, makeLayoutDescriptor(M, dg(o.d), 1, o.n));
        if (last.n !== undefined) {
          const named = idx.manifests.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] === last.n);
          expect(named).toHaveLength(1);
          expect(named[0]!.digest).toBe(dg(last.d));
        }
        // No name is ever on two entries.
        const names = idx.manifests.map((m) => m.annotations?.[REF_NAME_ANNOTATION]).filter((n) => n !== undefined);
        expect(new Set(names).size).toBe(names.length);
        // Reparsing what is serialised gives the same entries.
        expect(parseLayoutIndex(serializeLayoutIndex(idx), "/l").manifests.map((m) => m.json)).toEqual(idx.manifests.map((m) => m.json));
      }),
    );
  });
});

describe("selectImage()", () => {
  const idx = [makeLayoutDescriptor(M, dg("a"), 1, "a"), makeLayoutDescriptor(I, dg("b"), 1, "b"), makeLayoutDescriptor(M, dg("c"), 1)].reduce(withManifest, emptyLayoutIndex());

  test("by name, by position, and the only image", () => {
    expect(selectImage(idx, { name: "b" }, "oci:/l").descriptor.digest).toBe(dg("b"));
    expect(selectImage(idx, { sourceIndex: 2 }, "oci:/l").position).toBe(2);
    const one = withManifest(emptyLayoutIndex(), makeLayoutDescriptor(M, dg("z"), 1, "only"));
    expect(selectImage(one, {}, "oci:/l").descriptor.digest).toBe(dg("z"));
  });

  test("errors: missing name, several images, empty, out of range, unsupported media type", () => {
    expect(() => selectImage(idx, { name: "nope" }, "oci:/l")).toThrow(ImageNotFoundError);
    expect(() => selectImage(idx, {}, "oci:/l")).toThrow(AmbiguousImageError);
    expect(() => selectImage(idx, {}, "oci:/l")).toThrow(/"a", "b", 1 unnamed.*oci:\/l:NAME/);
    expect(() => selectImage(emptyLayoutIndex(), {}, "oci:/l")).toThrow(ImageNotFoundError);
    expect(() => selectImage(idx, { sourceIndex: 3 }, "oci:/l")).toThrow(ImageNotFoundError);
    const odd = withManifest(emptyLayoutIndex(), makeLayoutDescriptor("application/vnd.example.thing", dg("q"), 1, "thing"));
    expect(() => selectImage(odd, { name: "thing" }, "oci:/l")).toThrow(UnsupportedManifestTypeError);
  });

  test("withoutManifestAt() removes one entry", () => {
    expect(withoutManifestAt(idx, 1).manifests.map((m) => m.digest)).toEqual([dg("a"), dg("c")]);
  });
});
