/**
 * The policy.json model (containers-policy.json(5)).
 *
 * @module
 */

/** Requirements apply when every one of them allows the image (AND). The list is never empty. */
export type PolicyRequirements = readonly PolicyRequirement[];

/** One policy requirement: the `type` field selects the variant. */
export type PolicyRequirement =
  | InsecureAcceptAnythingRequirement
  | RejectRequirement
  | SignedByRequirement
  | SigstoreSignedRequirement
  | SignedBaseLayerRequirement;

/** `{"type":"insecureAcceptAnything"}`: allows any image (does not make any signature acceptable). */
export interface InsecureAcceptAnythingRequirement {
  readonly type: "insecureAcceptAnything";
}

/** `{"type":"reject"}`: rejects every image. */
export interface RejectRequirement {
  readonly type: "reject";
}

/** The `keyType` values of `signedBy`; only `GPGKeys` is implemented (as in containers/image). */
export type SignedByKeyType = "GPGKeys" | "signedByGPGKeys" | "X509Certificates" | "signedByX509CAs";

/**
 * `signedBy`: the image needs a simple-signing signature by one of the keys,
 * claiming an identity `signedIdentity` accepts. Exactly one of `keyPath`,
 * `keyPaths` and `keyData` is set.
 */
export interface SignedByRequirement {
  readonly type: "signedBy";
  readonly keyType: SignedByKeyType;
  /** A keyring file (binary or armored) of one or more public keys. */
  readonly keyPath?: string;
  /** Several keyring files. */
  readonly keyPaths?: readonly string[];
  /** The keyring itself (base64 in policy.json). */
  readonly keyData?: Uint8Array;
  /** Which signed identities are accepted; `matchRepoDigestOrExact` when absent from the file. */
  readonly signedIdentity: PolicyReferenceMatch;
}

/** `fulcio` of `sigstoreSigned`: certificates issued by a Fulcio CA. */
export interface SigstoreFulcioConfig {
  readonly caPath?: string;
  readonly caData?: Uint8Array;
  readonly oidcIssuer: string;
  readonly subjectEmail: string;
}

/** `pki` of `sigstoreSigned`: certificates issued by a private CA. */
export interface SigstorePkiConfig {
  readonly caRootsPath?: string;
  readonly caRootsData?: Uint8Array;
  readonly caIntermediatesPath?: string;
  readonly caIntermediatesData?: Uint8Array;
  readonly subjectEmail?: string;
  readonly subjectHostname?: string;
}

/**
 * `sigstoreSigned`: the image needs a sigstore (cosign) signature by one of
 * the public keys (or, not supported yet by Stevedore, a Fulcio/PKI
 * certificate), claiming an identity `signedIdentity` accepts. Exactly one
 * of `keyPath`, `keyPaths`, `keyData`, `keyDatas`, `fulcio` and `pki`.
 */
export interface SigstoreSignedRequirement {
  readonly type: "sigstoreSigned";
  readonly keyPath?: string;
  readonly keyPaths?: readonly string[];
  readonly keyData?: Uint8Array;
  readonly keyDatas?: readonly Uint8Array[];
  readonly fulcio?: SigstoreFulcioConfig;
  readonly pki?: SigstorePkiConfig;
  readonly rekorPublicKeyPath?: string;
  readonly rekorPublicKeyPaths?: readonly string[];
  readonly rekorPublicKeyData?: Uint8Array;
  readonly rekorPublicKeyDatas?: readonly Uint8Array[];
  /** Which signed identities are accepted; `matchRepoDigestOrExact` when absent from the file. */
  readonly signedIdentity: PolicyReferenceMatch;
}

/** `signedBaseLayer`: parsed for compatibility; it always denies (as in containers/image). */
export interface SignedBaseLayerRequirement {
  readonly type: "signedBaseLayer";
  readonly baseLayerIdentity: PolicyReferenceMatch;
}

/** How the identity claimed by a signature must relate to the image's identity. */
export type PolicyReferenceMatch =
  | { readonly type: "matchExact" }
  | { readonly type: "matchRepoDigestOrExact" }
  | { readonly type: "matchRepository" }
  | { readonly type: "exactReference"; readonly dockerReference: string }
  | { readonly type: "exactRepository"; readonly dockerRepository: string }
  | { readonly type: "remapIdentity"; readonly prefix: string; readonly signedPrefix: string };

/** Scopes of one transport: scope → requirements; the scope "" is the transport's default. */
export type PolicyTransportScopes = Readonly<Record<string, PolicyRequirements>>;

/** A whole policy. Records are prototype-less; look keys up with `Object.hasOwn`. */
export interface Policy {
  /** The global default requirements (mandatory, non-empty). */
  readonly default: PolicyRequirements;
  /** Per transport name, per scope. */
  readonly transports: Readonly<Record<string, PolicyTransportScopes>>;
}
