import { matchesDigest } from "@stevedore/manifest";
import { verifyAndExtractSimpleSignature } from "@stevedore/signature-simple";
import {
  PolicyRejectedError,
  StevedoreError,
  UnsupportedError,
  imageName,
  throwIfAborted,
  type Digest,
  type DockerReference,
  type ImageReference,
  type Signature,
  type SignatureMechanism,
  type SignatureMechanismProvider,
  type SigstoreSignature,
} from "@stevedore/types";
import { matchSignedIdentity } from "./identity.js";
import type { Policy, PolicyRequirement, PolicyRequirements, SignedByRequirement, SigstoreSignedRequirement } from "./types.js";

/**
 * The image as the policy sees it before anything else is read: its
 * reference, its (top-level) manifest and its signatures. `copy` passes
 * one backed by the source; both methods may be called more than once and
 * should cache.
 */
export interface UnparsedImage {
  readonly reference: ImageReference;
  /** The manifest bytes and MIME type. When the reference has a digest, the bytes must match it. */
  manifest(options?: { signal?: AbortSignal }): Promise<{ bytes: Uint8Array; mimeType: string }>;
  /** The image's signatures, untrusted. */
  signatures(options?: { signal?: AbortSignal }): Promise<Signature[]>;
}

/** What a sigstore verifier confirmed about one signature: the claims of its (now trusted) payload. */
export interface SigstoreVerifiedClaims {
  dockerManifestDigest: Digest;
  dockerReference: string;
}

/**
 * Verifies sigstore signatures for `sigstoreSigned` requirements. The
 * sigstore package provides one; the policy does the digest and identity
 * checks on what it returns.
 */
export interface SigstoreVerifier {
  /** What the verifier implements; a requirement needing anything else is refused as "not supported". */
  readonly capabilities: {
    /** Public keys (`keyPath`, `keyPaths`, `keyData`, `keyDatas`). */
    readonly publicKeys: boolean;
    readonly fulcio: boolean;
    readonly rekor: boolean;
    readonly pki: boolean;
  };
  /**
   * Checks `signature` cryptographically against `publicKeys` (the
   * requirement's keys, already read) or the requirement's other trust
   * roots, and returns the claims of its payload. Throws (with the reason)
   * when it does not verify.
   */
  verify(
    signature: SigstoreSignature,
    trust: { requirement: SigstoreSignedRequirement; publicKeys: readonly Uint8Array[]; readFile: (path: string) => Promise<Uint8Array> },
    options?: { signal?: AbortSignal },
  ): Promise<SigstoreVerifiedClaims>;
}

/** Options of {@link createPolicyContext}. */
export interface PolicyContextOptions {
  /** Makes the mechanisms that verify `signedBy` signatures (e.g. `openpgpMechanismProvider`). */
  mechanismProvider?: SignatureMechanismProvider;
  /** Reads key files named by `keyPath`/`keyPaths` (`@stevedore/policy/node` provides one). */
  readKeyFile?: (path: string, options?: { signal?: AbortSignal }) => Promise<Uint8Array>;
  /** Verifies `sigstoreSigned` signatures; without one, such requirements reject as not supported. */
  sigstoreVerifier?: SigstoreVerifier;
}

/** Which requirements apply to an image, and where they came from. */
export interface PolicyScopeMatch {
  /** The transport section used, or undefined for the global default. */
  transport?: string;
  /** The scope within the transport section ("" is the transport default); undefined for the global default. */
  scope?: string;
  readonly requirements: PolicyRequirements;
  /** The section as text, e.g. `transports.docker["quay.io/org"]` or `default`. */
  readonly description: string;
}

/** The verdict of one requirement. */
export interface RequirementVerdict {
  /** Index in the requirement list. */
  index: number;
  type: PolicyRequirement["type"];
  allowed: boolean;
  /** Why it denied; undefined when it allowed. */
  reason?: string;
}

/** A PolicyRejectedError with the details: the image, the scope used and each denying requirement's reason. */
export class ImageRejectedByPolicyError extends PolicyRejectedError {
  /** `transport:reference` of the image. */
  readonly image: string;
  /** The policy section that applied. */
  readonly scope: string;
  /** Every requirement that denied, with its reason. */
  readonly rejections: readonly RequirementVerdict[];

  constructor(image: string, scope: string, rejections: readonly RequirementVerdict[]) {
    const reasons = rejections.map((r) => `requirement ${r.index + 1} (${r.type}): ${r.reason ?? "denied"}`).join("; ");
    super(`image ${image} is rejected by the signature policy (${scope}): ${reasons}`);
    this.image = image;
    this.scope = scope;
    this.rejections = rejections;
  }
}

/** A policy ready to evaluate images. */
export interface PolicyContext {
  readonly policy: Policy;
  /** The requirements for `ref`: its exact identity, then each namespace, then the transport's "" scope, then `default`. */
  requirementsFor(ref: ImageReference): PolicyScopeMatch;
  /** Evaluates every applicable requirement; never throws a rejection (other failures, e.g. AbortError, propagate). */
  evaluate(image: UnparsedImage, options?: { signal?: AbortSignal }): Promise<{ allowed: boolean; scope: PolicyScopeMatch; verdicts: RequirementVerdict[] }>;
  /**
   * Resolves when the policy allows running (copying) the image; otherwise
   * throws {@link ImageRejectedByPolicyError} (a PolicyRejectedError) naming
   * the image, the scope and each denying requirement's reason.
   */
  isRunningImageAllowed(image: UnparsedImage, options?: { signal?: AbortSignal }): Promise<true>;
  /** Closes the signature mechanisms the context made (temporary keyrings). */
  close(): Promise<void>;
}

function hasOwn(o: object, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

function scopeText(transport: string, scope: string): string {
  return `transports.${/^[A-Za-z_$][\w$-]*$/.test(transport) ? transport : JSON.stringify(transport)}[${JSON.stringify(scope)}]`;
}

/** The message of a failure, without the class prefix. */
function why(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Failures that are not a verdict on a signature: cancellation and a missing tool (e.g. gpg). */
function mustPropagate(e: unknown): boolean {
  return e instanceof StevedoreError && (e.code === "ERR_ABORTED" || e.code === "ERR_MISSING_TOOL");
}

/** Raised inside evaluation to deny with a reason. */
class Denied extends Error {}

/**
 * Makes a context that evaluates images against `policy`. Signature
 * requirements need `mechanismProvider` (signedBy), `readKeyFile` (for key
 * paths) and `sigstoreVerifier` (sigstoreSigned); without them such a
 * requirement denies with a reason saying what is missing.
 */
export function createPolicyContext(policy: Policy, options: PolicyContextOptions = {}): PolicyContext {
  const mechanisms = new Map<SignedByRequirement, Promise<{ mechanism: SignatureMechanism; keyIdentities: string[] }>>();
  let closed = false;

  function requirementsFor(ref: ImageReference): PolicyScopeMatch {
    const name = ref.transport.name;
    if (hasOwn(policy.transports, name)) {
      const scopes = policy.transports[name] ?? {};
      const candidates = [ref.policyConfigurationIdentity(), ...ref.policyConfigurationNamespaces()];
      for (const scope of candidates) {
        if (scope !== "" && hasOwn(scopes, scope)) {
          return { transport: name, scope, requirements: scopes[scope] ?? [], description: scopeText(name, scope) };
        }
      }
      if (hasOwn(scopes, "")) return { transport: name, scope: "", requirements: scopes[""] ?? [], description: scopeText(name, "") };
    }
    return { requirements: policy.default, description: "default" };
  }

  async function readKeys(paths: readonly string[], signal: AbortSignal | undefined): Promise<Uint8Array[]> {
    const read = options.readKeyFile;
    if (!read) throw new Denied("key files cannot be read here (no readKeyFile was given to the policy context; use keyData, or @stevedore/policy/node)");
    const out: Uint8Array[] = [];
    for (const p of paths) {
      try {
        out.push(await read(p, signal ? { signal } : {}));
      } catch (e) {
        throw new Denied(`cannot read the key file ${p}: ${why(e)}`);
      }
    }
    return out;
  }

  function signedByMechanism(req: SignedByRequirement, signal: AbortSignal | undefined) {
    let m = mechanisms.get(req);
    if (!m) {
      const provider = options.mechanismProvider;
      if (!provider) throw new Denied("no signature mechanism is configured to verify signedBy signatures");
      m = (async () => {
        const blobs = req.keyData ? [req.keyData] : await readKeys(req.keyPaths ?? (req.keyPath !== undefined ? [req.keyPath] : []), signal);
        try {
          return await provider.newEphemeralMechanism(blobs);
        } catch (e) {
          throw new Denied(`cannot load the public keys: ${why(e)}`);
        }
      })();
      mechanisms.set(req, m);
      // A failure (e.g. an unreadable file) is not cached: the next evaluation tries again.
      m.catch(() => mechanisms.delete(req));
    }
    return m;
  }

  /** The digest check every signature-based requirement makes. */
  async function manifestMatches(image: UnparsedImage, digest: Digest, signal: AbortSignal | undefined): Promise<boolean> {
    const { bytes } = await image.manifest(signal ? { signal } : {});
    return matchesDigest(bytes, digest);
  }

  /** When the image is named by digest, its manifest must match that digest before any signature is trusted for it. */
  async function checkReferenceDigest(image: UnparsedImage, dockerRef: DockerReference | undefined, signal: AbortSignal | undefined) {
    if (dockerRef?.digest !== undefined && !(await manifestMatches(image, dockerRef.digest, signal))) {
      throw new Denied(`the manifest does not match the digest ${dockerRef.digest} of the image reference`);
    }
  }

  function summarize(rejections: string[], accepted: boolean, otherFormats: number, format: string): void {
    if (accepted) return;
    if (rejections.length === 0) {
      throw new Denied(
        otherFormats > 0
          ? `A signature was required, but no ${format} signature exists (the image has ${otherFormats} signature(s) of another format)`
          : "A signature was required, but no signature exists",
      );
    }
    if (rejections.length === 1) throw new Denied(rejections[0]);
    throw new Denied(`None of the signatures were accepted, reasons: ${rejections.join("; ")}`);
  }

  async function evaluateSignedBy(req: SignedByRequirement, image: UnparsedImage, signal: AbortSignal | undefined): Promise<void> {
    if (req.keyType !== "GPGKeys") throw new Denied(`keyType ${JSON.stringify(req.keyType)} is not supported (only GPGKeys is)`);
    const dockerRef = image.reference.dockerReference();
    const sigs = await image.signatures(signal ? { signal } : {});
    const simple = sigs.filter((s) => s.format === "simple-signing");
    if (simple.length === 0) summarize([], false, sigs.length, "simple-signing");
    const { mechanism, keyIdentities } = await signedByMechanism(req, signal);
    if (keyIdentities.length === 0) throw new Denied("No public keys imported");
    await checkReferenceDigest(image, dockerRef, signal);
    const rejections: string[] = [];
    for (const sig of simple) {
      throwIfAborted(signal);
      try {
        await verifyAndExtractSimpleSignature(
          mechanism,
          sig.untrustedSignature,
          {
            validateKeyIdentity(keyIdentity) {
              if (!keyIdentities.includes(keyIdentity)) throw new Denied(`Signature by key ${keyIdentity} is not accepted`);
            },
            async validateSignedDockerManifestDigest(digest) {
              if (!(await manifestMatches(image, digest, signal))) throw new Denied(`Signature for digest ${digest} does not match the manifest`);
            },
            validateSignedDockerReference(ref) {
              const mismatch = matchSignedIdentity(req.signedIdentity, dockerRef, ref);
              if (mismatch !== undefined) throw new Denied(`Signature for identity ${JSON.stringify(ref)} is not accepted: ${mismatch}`);
            },
          },
          signal ? { signal } : {},
        );
        return; // One accepted signature is enough.
      } catch (e) {
        if (mustPropagate(e)) throw e;
        rejections.push(why(e));
      }
    }
    summarize(rejections, false, sigs.length - simple.length, "simple-signing");
  }

  async function evaluateSigstore(req: SigstoreSignedRequirement, image: UnparsedImage, signal: AbortSignal | undefined): Promise<void> {
    const verifier = options.sigstoreVerifier;
    if (!verifier) throw new Denied("sigstoreSigned requirements are not supported: no sigstore verifier is configured");
    const caps = verifier.capabilities;
    const needs: string[] = [];
    if (req.fulcio && !caps.fulcio) needs.push("fulcio");
    if (req.pki && !caps.pki) needs.push("pki");
    if ((req.rekorPublicKeyPath ?? req.rekorPublicKeyPaths ?? req.rekorPublicKeyData ?? req.rekorPublicKeyDatas) !== undefined && !caps.rekor) needs.push("rekor");
    const usesKeys = (req.keyPath ?? req.keyPaths ?? req.keyData ?? req.keyDatas) !== undefined;
    if (usesKeys && !caps.publicKeys) needs.push("public keys");
    if (needs.length > 0) throw new Denied(`sigstoreSigned with ${needs.join(", ")} is not supported by the configured sigstore verifier`);

    const dockerRef = image.reference.dockerReference();
    const sigs = await image.signatures(signal ? { signal } : {});
    const sigstore = sigs.filter((s): s is SigstoreSignature => s.format === "sigstore-json");
    if (sigstore.length === 0) summarize([], false, sigs.length, "sigstore");
    let publicKeys: Uint8Array[] = [];
    if (req.keyData) publicKeys = [req.keyData];
    else if (req.keyDatas) publicKeys = [...req.keyDatas];
    else if (req.keyPath !== undefined || req.keyPaths) publicKeys = await readKeys(req.keyPaths ?? [req.keyPath as string], signal);
    const readFile = async (p: string) => (await readKeys([p], signal))[0] as Uint8Array;
    await checkReferenceDigest(image, dockerRef, signal);
    const rejections: string[] = [];
    for (const sig of sigstore) {
      throwIfAborted(signal);
      try {
        const claims = await verifier.verify(sig, { requirement: req, publicKeys, readFile }, signal ? { signal } : {});
        if (!(await manifestMatches(image, claims.dockerManifestDigest, signal))) {
          throw new Denied(`Signature for digest ${claims.dockerManifestDigest} does not match the manifest`);
        }
        const mismatch = matchSignedIdentity(req.signedIdentity, dockerRef, claims.dockerReference);
        if (mismatch !== undefined) throw new Denied(`Signature for identity ${JSON.stringify(claims.dockerReference)} is not accepted: ${mismatch}`);
        return;
      } catch (e) {
        if (mustPropagate(e)) throw e;
        rejections.push(why(e));
      }
    }
    summarize(rejections, false, sigs.length - sigstore.length, "sigstore");
  }

  async function evaluateOne(req: PolicyRequirement, image: UnparsedImage, signal: AbortSignal | undefined): Promise<void> {
    switch (req.type) {
      case "insecureAcceptAnything":
        return;
      case "reject":
        throw new Denied(`Running image ${imageName(image.reference)} is rejected by policy.`);
      case "signedBaseLayer":
        throw new Denied("signedBaseLayer is not supported: it always denies");
      case "signedBy":
        return evaluateSignedBy(req, image, signal);
      case "sigstoreSigned":
        return evaluateSigstore(req, image, signal);
    }
  }

  async function evaluate(image: UnparsedImage, o: { signal?: AbortSignal } = {}) {
    if (closed) throw new UnsupportedError("this policy context has been closed");
    throwIfAborted(o.signal);
    const scope = requirementsFor(image.reference);
    const verdicts: RequirementVerdict[] = [];
    if (scope.requirements.length === 0) {
      verdicts.push({ index: 0, type: "reject", allowed: false, reason: "the list of policy requirements must not be empty" });
    }
    for (const [index, req] of scope.requirements.entries()) {
      try {
        await evaluateOne(req, image, o.signal);
        verdicts.push({ index, type: req.type, allowed: true });
      } catch (e) {
        if (e instanceof Denied) verdicts.push({ index, type: req.type, allowed: false, reason: e.message });
        else throw e;
      }
    }
    return { allowed: verdicts.every((v) => v.allowed), scope, verdicts };
  }

  return Object.freeze({
    policy,
    requirementsFor,
    evaluate,
    async isRunningImageAllowed(image: UnparsedImage, o: { signal?: AbortSignal } = {}): Promise<true> {
      const r = await evaluate(image, o);
      if (r.allowed) return true;
      throw new ImageRejectedByPolicyError(
        imageName(image.reference),
        r.scope.description,
        r.verdicts.filter((v) => !v.allowed),
      );
    },
    async close(): Promise<void> {
      closed = true;
      const all = [...mechanisms.values()];
      mechanisms.clear();
      for (const m of all) {
        try {
          await (await m).mechanism.close();
        } catch {
          // failed to load: nothing to close
        }
      }
    },
  });
}
