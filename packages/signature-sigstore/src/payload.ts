import { parseNormalizedNamed } from "@stevedore/reference";
import { SIMPLE_SIGNING_CREATOR, formatJsonPath, isJsonObject, jsonTypeName, parseJsonStrictly, type JsonObject, type JsonValue } from "@stevedore/signature-simple";
import { parseDigest, SignatureInvalidError, utf8, type Digest } from "@stevedore/types";

/** The `critical.type` of every sigstore (cosign) container image signature payload. */
export const SIGSTORE_SIGNATURE_TYPE = "cosign container image signature";

/** The MIME type of a sigstore signature payload (the OCI layer holding it). */
export const SIGSTORE_PAYLOAD_MIME_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";

/** The layer annotation holding the base64 signature of the payload. */
export const SIGSTORE_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

/** The `optional.creator` Stevedore writes. */
export const SIGSTORE_CREATOR = SIMPLE_SIGNING_CREATOR;

/**
 * The contents of a sigstore signature payload. Everything in it is
 * UNTRUSTED until the signature has been verified and the digest and
 * identity checked.
 */
export interface SigstorePayload {
  /** `critical.image.docker-manifest-digest`: the digest of the signed manifest. */
  dockerManifestDigest: Digest;
  /** `critical.identity.docker-reference`: the identity the signer claims, as written. */
  dockerReference: string;
  /** `optional.creator`, when present. */
  creator?: string;
  /** `optional.timestamp` (integer seconds since the Unix epoch), when present. */
  timestamp?: number;
}

/** Fields of {@link createSigstorePayload}. */
export interface CreateSigstorePayloadOptions {
  /** The digest of the manifest being signed. */
  dockerManifestDigest: Digest | string;
  /** The identity the signature claims, e.g. `quay.io/org/app:1.2`. */
  dockerReference: string;
  /** `optional.creator`; default {@link SIGSTORE_CREATOR}; `null` leaves it out. */
  creator?: string | null;
  /** `optional.timestamp` in integer seconds; default now; `null` leaves it out. */
  timestamp?: number | null;
}

/**
 * Serialises a sigstore payload as containers/image writes it (keys
 * sorted):
 * `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":{"creator":C,"timestamp":T}}`.
 * The digest must be valid (InvalidDigestError) and the reference a valid
 * docker reference (InvalidReferenceError); it is written as given.
 */
export function createSigstorePayload(options: CreateSigstorePayloadOptions): Uint8Array {
  const digest = parseDigest(options.dockerManifestDigest);
  if (typeof options.dockerReference !== "string" || options.dockerReference === "") {
    throw new SignatureInvalidError("cannot create a sigstore payload without a docker reference");
  }
  parseNormalizedNamed(options.dockerReference);
  const optional: Record<string, string | number> = {};
  const creator = options.creator === undefined ? SIGSTORE_CREATOR : options.creator;
  if (creator !== null) optional.creator = creator;
  const timestamp = options.timestamp === undefined ? Math.floor(Date.now() / 1000) : options.timestamp;
  if (timestamp !== null) {
    if (!Number.isSafeInteger(timestamp)) throw new SignatureInvalidError(`the signature timestamp must be an integer, not ${timestamp}`);
    optional.timestamp = timestamp;
  }
  return utf8(
    JSON.stringify({
      critical: {
        identity: { "docker-reference": options.dockerReference },
        image: { "docker-manifest-digest": digest },
        type: SIGSTORE_SIGNATURE_TYPE,
      },
      optional,
    }),
  );
}

function invalid(message: string): SignatureInvalidError {
  return new SignatureInvalidError(`invalid sigstore signature payload: ${message}`);
}

function exactKeys(obj: JsonObject, keys: readonly string[], path: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) throw invalid(`unknown key ${JSON.stringify(k)} in ${formatJsonPath(path)}`);
  }
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) throw invalid(`missing key ${JSON.stringify(k)} in ${formatJsonPath(path)}`);
  }
}

function objectAt(v: JsonValue | undefined, path: readonly string[]): JsonObject {
  if (!isJsonObject(v)) throw invalid(`${formatJsonPath(path)} must be an object, not ${jsonTypeName(v)}`);
  return v;
}

function stringAt(v: JsonValue | undefined, path: readonly string[]): string {
  if (typeof v !== "string") throw invalid(`${formatJsonPath(path)} must be a string, not ${jsonTypeName(v)}`);
  return v;
}

/**
 * Parses a sigstore payload paranoidly, as containers/image does: exactly
 * `critical` and `optional` at the top; `optional` is an object or `null`
 * (cosign writes `null` when there are no annotations) and may hold
 * anything, but a `creator` must be a string and a `timestamp` an integer;
 * exactly `type`, `image` and `identity` in `critical`, `type` being
 * {@link SIGSTORE_SIGNATURE_TYPE}; exactly `docker-manifest-digest` (a valid
 * digest) in `image` and exactly `docker-reference` in `identity`.
 * Duplicate keys, wrong types, trailing data and invalid UTF-8 throw
 * SignatureInvalidError naming the field. The result is still UNTRUSTED.
 */
export function parseSigstorePayload(bytes: Uint8Array | string): SigstorePayload {
  const doc = parseJsonStrictly(bytes, { error: (m) => invalid(m) });
  const top = objectAt(doc, []);
  exactKeys(top, ["critical", "optional"], []);
  const critical = objectAt(top.critical, ["critical"]);
  exactKeys(critical, ["type", "image", "identity"], ["critical"]);
  const type = stringAt(critical.type, ["critical", "type"]);
  if (type !== SIGSTORE_SIGNATURE_TYPE) throw invalid(`unrecognized signature type ${JSON.stringify(type)} in critical.type`);
  const image = objectAt(critical.image, ["critical", "image"]);
  exactKeys(image, ["docker-manifest-digest"], ["critical", "image"]);
  const digestText = stringAt(image["docker-manifest-digest"], ["critical", "image", "docker-manifest-digest"]);
  let dockerManifestDigest: Digest;
  try {
    dockerManifestDigest = parseDigest(digestText);
  } catch (e) {
    throw new SignatureInvalidError(`invalid sigstore signature payload: critical.image.docker-manifest-digest: ${(e as Error).message}`, { cause: e });
  }
  const identity = objectAt(critical.identity, ["critical", "identity"]);
  exactKeys(identity, ["docker-reference"], ["critical", "identity"]);
  const dockerReference = stringAt(identity["docker-reference"], ["critical", "identity", "docker-reference"]);

  const result: SigstorePayload = { dockerManifestDigest, dockerReference };
  if (top.optional === null) return result;
  const optional = objectAt(top.optional, ["optional"]);
  if (Object.prototype.hasOwnProperty.call(optional, "creator")) {
    result.creator = stringAt(optional.creator, ["optional", "creator"]);
  }
  if (Object.prototype.hasOwnProperty.call(optional, "timestamp")) {
    const ts = optional.timestamp;
    if (typeof ts !== "number") throw invalid(`optional.timestamp must be a number, not ${jsonTypeName(ts)}`);
    if (!Number.isSafeInteger(ts)) throw invalid(`optional.timestamp ${ts} is not an integer`);
    result.timestamp = ts;
  }
  return result;
}
