export type * from "./types.js";
export { parsePolicy, isValidRemapPrefix, type ParsePolicyOptions, type TransportLookup } from "./parse.js";
export { matchSignedIdentity, remapReference, type IdentityMismatch } from "./identity.js";
export {
  createPolicyContext,
  ImageRejectedByPolicyError,
  type UnparsedImage,
  type SigstoreVerifier,
  type SigstoreVerifiedClaims,
  type PolicyContext,
  type PolicyContextOptions,
  type PolicyScopeMatch,
  type RequirementVerdict,
} from "./evaluate.js";
