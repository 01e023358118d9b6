export {
  SIGSTORE_SIGNATURE_TYPE,
  SIGSTORE_PAYLOAD_MIME_TYPE,
  SIGSTORE_SIGNATURE_ANNOTATION,
  SIGSTORE_CREATOR,
  createSigstorePayload,
  parseSigstorePayload,
  type SigstorePayload,
  type CreateSigstorePayloadOptions,
} from "./payload.js";
export {
  SIGSTORE_PRIVATE_KEY_PEM_TYPE,
  COSIGN_PRIVATE_KEY_PEM_TYPE,
  importSigstorePublicKey,
  loadSigstorePrivateKey,
  generateSigstoreKeyPair,
  encryptSigstoreEnvelope,
  decryptSigstoreEnvelope,
  type SigstoreKeyType,
  type SigstorePublicKey,
  type SigstorePrivateKey,
  type SigstoreKeyPair,
  type GenerateKeyPairOptions,
  type LoadPrivateKeyOptions,
  type EnvelopeOptions,
} from "./keys.js";
export {
  signSigstore,
  signSigstoreWithKey,
  createSigstoreSigner,
  type SignSigstoreOptions,
  type SigstoreSigner,
  type CreateSigstoreSignerOptions,
} from "./sign.js";
export {
  verifySigstoreSignature,
  createSigstoreVerifier,
  type VerifiedSigstoreSignature,
  type SigstoreKeyVerifier,
} from "./verify.js";
