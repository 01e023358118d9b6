import { isNameOnly, parseNamed, parseNormalizedNamed } from "@stevedore/reference";
import type { DockerReference } from "@stevedore/types";
import type { PolicyReferenceMatch } from "./types.js";

function tryParse(s: string): DockerReference | undefined {
  try {
    return parseNormalizedNamed(s);
  } catch {
    return undefined;
  }
}

/** matchRepoDigestOrExact on parsed values: a tagged image needs the exact reference; a digested one, the same repository. */
function repoDigestOrExact(intended: DockerReference, signature: DockerReference): boolean {
  if (isNameOnly(signature)) return false;
  if (intended.tag !== undefined) return signature.toString() === intended.toString();
  if (intended.digest !== undefined) return signature.name === intended.name;
  return false;
}

/** Whether `name` is `prefix` or lies under it (`prefix/...`). */
function underPrefix(name: string, prefix: string): boolean {
  return name === prefix || (name.length > prefix.length && name.startsWith(prefix) && name[prefix.length] === "/");
}

/**
 * Applies `remapIdentity`: when the image name is `prefix` or lies under
 * it, the prefix is replaced by `signedPrefix` (the result must be a
 * canonical reference); otherwise the image reference is returned as is.
 * Undefined when the rewritten reference is invalid.
 */
export function remapReference(intended: DockerReference, prefix: string, signedPrefix: string): DockerReference | undefined {
  if (!underPrefix(intended.name, prefix)) return intended;
  const text = intended.toString();
  const rewritten = signedPrefix + text.slice(prefix.length);
  try {
    return parseNamed(rewritten);
  } catch {
    return undefined;
  }
}

/** Why an identity did not match, for the rejection message; undefined when it matched. */
export type IdentityMismatch = string | undefined;

/**
 * Decides whether `signatureReference` (the identity a verified signature
 * claims) is acceptable for an image known as `imageReference` (undefined
 * when the transport gives the image no docker identity), per `match`.
 * Returns undefined when it is, or the reason it is not.
 */
export function matchSignedIdentity(
  match: PolicyReferenceMatch,
  imageReference: DockerReference | undefined,
  signatureReference: string,
): IdentityMismatch {
  const signature = tryParse(signatureReference);
  if (!signature) return `the signed identity ${JSON.stringify(signatureReference)} is not a valid docker reference`;
  const noImageIdentity = "the image has no docker reference to compare with (use exactReference or exactRepository)";
  switch (match.type) {
    case "matchExact":
      if (!imageReference) return noImageIdentity;
      if (isNameOnly(imageReference) || isNameOnly(signature)) return "matchExact needs a tag or digest on both the image and the signature";
      return signature.toString() === imageReference.toString() ? undefined : `it is not ${JSON.stringify(imageReference.toString())}`;
    case "matchRepoDigestOrExact":
      if (!imageReference) return noImageIdentity;
      return repoDigestOrExact(imageReference, signature)
        ? undefined
        : imageReference.tag !== undefined
          ? `it is not ${JSON.stringify(imageReference.toString())}`
          : `it is not in the repository ${imageReference.name}`;
    case "matchRepository":
      if (!imageReference) return noImageIdentity;
      return signature.name === imageReference.name ? undefined : `it is not in the repository ${imageReference.name}`;
    case "exactReference": {
      const wanted = tryParse(match.dockerReference);
      if (!wanted || isNameOnly(wanted) || isNameOnly(signature)) return `it is not ${JSON.stringify(match.dockerReference)}`;
      return signature.toString() === wanted.toString() ? undefined : `it is not ${JSON.stringify(wanted.toString())}`;
    }
    case "exactRepository": {
      const wanted = tryParse(match.dockerRepository);
      if (!wanted) return `it is not in the repository ${match.dockerRepository}`;
      return signature.name === wanted.name ? undefined : `it is not in the repository ${wanted.name}`;
    }
    case "remapIdentity": {
      if (!imageReference) return noImageIdentity;
      const remapped = remapReference(imageReference, match.prefix, match.signedPrefix);
      if (!remapped) return `remapping ${JSON.stringify(imageReference.toString())} from ${match.prefix} to ${match.signedPrefix} gives an invalid reference`;
      return repoDigestOrExact(remapped, signature)
        ? undefined
        : remapped.tag !== undefined
          ? `it is not ${JSON.stringify(remapped.toString())}`
          : `it is not in the repository ${remapped.name}`;
    }
  }
}
