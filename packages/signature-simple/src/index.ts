export {
  SIMPLE_SIGNING_TYPE,
  SIMPLE_SIGNING_CREATOR,
  createSimpleSigningPayload,
  parseSimpleSigningPayload,
  type SimpleSigningPayload,
  type CreateSimpleSigningPayloadOptions,
} from "./payload.js";
export {
  signDockerManifest,
  verifyDockerManifestSignature,
  verifyAndExtractSimpleSignature,
  untrustedSignatureInformation,
  type SignatureAcceptanceRules,
  type SignDockerManifestOptions,
  type VerifiedSimpleSignature,
  type UntrustedSignatureInformation,
} from "./docker.js";
export {
  parseJsonStrictly,
  formatJsonPath,
  isJsonObject,
  jsonTypeName,
  type JsonValue,
  type JsonObject,
  type JsonPath,
  type StrictJsonOptions,
} from "./json.js";
export { STEVEDORE_VERSION } from "./version.js";
