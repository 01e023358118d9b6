import {
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA1_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
  isListMIMEType,
} from "@stevedore/manifest";
import { ManifestTypeRejectedError, UnsupportedManifestTypeError } from "@stevedore/types";

/** The types to try writing, best first. */
export interface ManifestCandidates {
  preferred: string;
  others: string[];
}

/** Types the copy prefers when it has to convert (the Go library's order). */
const PREFERRED = [DOCKER_SCHEMA2_MEDIA_TYPE, DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE];

/**
 * Which manifest types to write an image as, as containers/image decides:
 * the source's type first when the destination takes it; then schema 2,
 * signed schema 1, then whatever else the destination lists. When the
 * manifest may not change, only the source's type. `forced` is the only
 * candidate when given.
 */
export function chooseManifestTypes(
  srcType: string,
  destSupported: readonly string[],
  options: { forced?: string; cannotModifyReason?: string; destName: string; isArtifact?: boolean },
): ManifestCandidates {
  const { forced, cannotModifyReason, destName } = options;
  if (forced !== undefined) {
    if (destSupported.length > 0 && !destSupported.includes(forced)) {
      throw new ManifestTypeRejectedError(`${destName} does not support manifest type ${forced} (it supports ${destSupported.join(", ")})`);
    }
    if (forced !== srcType && cannotModifyReason !== undefined) {
      throw new UnsupportedManifestTypeError(`cannot convert the manifest to ${forced}: ${cannotModifyReason}`);
    }
    return { preferred: forced, others: [] };
  }
  if (destSupported.length === 0) return { preferred: srcType, others: [] };
  const ordered: string[] = [];
  const add = (t: string) => {
    if (destSupported.includes(t) && !ordered.includes(t)) ordered.push(t);
  };
  add(srcType);
  if (cannotModifyReason !== undefined || options.isArtifact) {
    if (ordered.length === 0) {
      throw new UnsupportedManifestTypeError(
        `${destName} does not support manifest type ${srcType} (it supports ${destSupported.join(", ")}), and the manifest cannot be converted: ${cannotModifyReason ?? "it is an OCI artifact"}`,
      );
    }
    return { preferred: srcType, others: [] };
  }
  for (const t of PREFERRED) add(t);
  for (const t of destSupported) if (!isListMIMEType(t)) add(t);
  const [preferred, ...others] = ordered;
  if (preferred === undefined) {
    throw new UnsupportedManifestTypeError(`${destName} supports no single-image manifest type (${destSupported.join(", ")})`);
  }
  return { preferred, others };
}

/** The list type matching an image type: OCI → OCI index, Docker (schema 1 or 2) → Docker manifest list. */
export function listTypeFor(imageType: string): string {
  return imageType === OCI_MANIFEST_MEDIA_TYPE ? OCI_INDEX_MEDIA_TYPE : DOCKER_LIST_MEDIA_TYPE;
}

/** Whether the destination can store a list (its supported types include one, or it takes anything). */
export function supportsLists(destSupported: readonly string[]): boolean {
  return destSupported.length === 0 || destSupported.some((t) => isListMIMEType(t));
}

/** Whether the type is one of the schema 1 types. */
export function isSchema1(t: string): boolean {
  return t === DOCKER_SCHEMA1_MEDIA_TYPE || t === DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE;
}
