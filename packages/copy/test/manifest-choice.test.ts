import { describe, expect, test } from "vitest";
import { chooseManifestTypes } from "@stevedore/copy";
import { ManifestTypeRejectedError, UnsupportedManifestTypeError } from "@stevedore/types";

const OCI = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const S2 = "application/vnd.docker.distribution.manifest.v2+json";
const S1S = "application/vnd.docker.distribution.manifest.v1+prettyjws";
const S1 = "application/vnd.docker.distribution.manifest.v1+json";
const LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
const REGISTRY = [OCI, S2, OCI_INDEX, LIST, S1S, S1];
const destName = "dest:x";

describe("chooseManifestTypes()", () => {
  test("keeps the source type when the destination takes anything", () => {
    expect(chooseManifestTypes(S1S, [], { destName })).toEqual({ preferred: S1S, others: [] });
  });

  test("keeps the source type first, then schema 2, signed schema 1, then the destination's other image types", () => {
    expect(chooseManifestTypes(OCI, REGISTRY, { destName })).toEqual({ preferred: OCI, others: [S2, S1S, S1] });
    expect(chooseManifestTypes(S1, REGISTRY, { destName })).toEqual({ preferred: S1, others: [S2, S1S, OCI] });
  });

  test("converts when the destination does not take the source type", () => {
    expect(chooseManifestTypes(OCI, [S2], { destName })).toEqual({ preferred: S2, others: [] });
    expect(chooseManifestTypes(S2, [OCI, OCI_INDEX], { destName })).toEqual({ preferred: OCI, others: [] });
  });

  test("only the source type when the manifest may not change", () => {
    expect(chooseManifestTypes(OCI, REGISTRY, { destName, cannotModifyReason: "signed" })).toEqual({ preferred: OCI, others: [] });
    expect(() => chooseManifestTypes(OCI, [S2], { destName, cannotModifyReason: "it is signed" })).toThrow(/cannot be converted: it is signed/);
    expect(() => chooseManifestTypes(OCI, [S2], { destName, isArtifact: true })).toThrow(UnsupportedManifestTypeError);
  });

  test("a forced type is the only candidate, and must be supported", () => {
    expect(chooseManifestTypes(OCI, REGISTRY, { destName, forced: S2 })).toEqual({ preferred: S2, others: [] });
    expect(() => chooseManifestTypes(OCI, [OCI, OCI_INDEX], { destName, forced: S2 })).toThrow(ManifestTypeRejectedError);
    expect(() => chooseManifestTypes(OCI, REGISTRY, { destName, forced: S2, cannotModifyReason: "signed" })).toThrow(/cannot convert/);
  });
});
