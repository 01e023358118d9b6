import { parseNormalizedNamed } from "@stevedore/reference";
import { parseDigest, SignatureInvalidError, utf8, type Digest } from "@stevedore/types";
import { formatJsonPath, isJsonObject, jsonTypeName, parseJsonStrictly, type JsonObject, type JsonValue } from "./json.js";
import { STEVEDORE_VERSION } from "./version.js";

/** The `critical.type` of every simple-signing payload. */
export const SIMPLE_SIGNING_TYPE = "atomic container signature";

/** The `optional.creator` Stevedore writes: `Stevedore <version>`. */
export const SIMPLE_SIGNING_CREATOR = `Stevedore ${STEVEDORE_VERSION}`;

/**
 * The contents of a simple-signing payload. Everything in it is UNTRUSTED
 * until the signature around it has been verified and the digest and
 * identity checked (see `verifyDockerManifestSignature`).
 */
export interface SimpleSigningPayload {
  /** `critical.image.docker-manifest-digest`: the digest of the signed manifest. */
  dockerManifestDigest: Digest;
  /** `critical.identity.docker-reference`: the image identity the signer claims, as written in the payload. */
  dockerReference: string;
  /** `optional.creator`, when present. */
  creator?: string;
  /** `optional.timestamp` (integer seconds since the Unix epoch), when present. */
  timestamp?: number;
}

/** Fields of {@link createSimpleSigningPayload}. */
export interface CreateSimpleSigningPayloadOptions {
  /** The digest of the manifest being signed. */
  dockerManifestDigest: Digest | string;
  /** The identity the signature claims, e.g. `quay.io/org/app:1.2`. */
  dockerReference: string;
  /** `optional.creator`; default {@link SIMPLE_SIGNING_CREATOR}; `null` leaves it out. */
  creator?: string | null;
  /** `optional.timestamp` in integer seconds; default now; `null` leaves it out. */
  timestamp?: number | null;
}

/**
 * Serialises a simple-signing payload (`containers-signature(5)`):
 * `{"critical":{"identity":{"docker-reference":R},"image":{"docker-manifest-digest":D},"type":"atomic container signature"},"optional":{"creator":C,"timestamp":T}}`
 * with keys in that (sorted) order, as containers/image writes them. The
 * digest must be valid and the reference a valid docker reference
 * (InvalidDigestError / InvalidReferenceError otherwise).
 */
export function createSimpleSigningPayload(options: CreateSimpleSigningPayloadOptions): Uint8Array {
  const digest = parseDigest(options.dockerManifestDigest);
  if (typeof options.dockerReference !== "string" || options.dockerReference === "") {
    throw new SignatureInvalidError("cannot create a signature payload without a docker reference");
  }
  parseNormalizedNamed(options.dockerReference); // throws InvalidReferenceError naming it
  const optional: Record<string, string | number> = {};
  const creator = options.creator === undefined ? SIMPLE_SIGNING_CREATOR : options.creator;
  if (creator !== null) optional.creator = creator;
  const timestamp = options.timestamp === undefined ? Math.floor(Date.now() / 1000) : options.timestamp;
  if (timestamp !== null) {
    if (!Number.isSafeInteger(timestamp)) throw new SignatureInvalidError(`the signature timestamp must be an integer, not ${timestamp}`);
    optional.timestamp = timestamp;
  }
  const payload = {
    critical: {
      identity: { "docker-reference": options.dockerReference },
      image: { "docker-manifest-digest": digest },
      type: SIMPLE_SIGNING_TYPE,
    },
    optional,
  };
  return utf8(JSON.stringify(payload));
}

function invalid(message: string): SignatureInvalidError {
  return new SignatureInvalidError(`invalid signature payload: ${message}`);
}

function at(path: readonly (string | number)[]): string {
  return formatJsonPath(path);
}

/** Checks that `obj` has exactly the keys `keys` (all of them, nothing else). */
function exactKeys(obj: JsonObject, keys: readonly string[], path: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (!keys.includes(k)) throw invalid(`unknown key ${JSON.stringify(k)} in ${at(path)}`);
  }
  for (const k of keys) {
    if (!Object.prototype.hasOwnProperty.call(obj, k)) throw invalid(`missing key ${JSON.stringify(k)} in ${at(path)}`);
  }
}

function objectAt(v: JsonValue | undefined, path: readonly string[]): JsonObject {
  if (!isJsonObject(v)) throw invalid(`${at(path)} must be an object, not ${jsonTypeName(v)}`);
  return v;
}

function stringAt(v: JsonValue | undefined, path: readonly string[]): string {
  if (typeof v !== "string") throw invalid(`${at(path)} must be a string, not ${jsonTypeName(v)}`);
  return v;
}

/**
 * Parses a simple-signing payload paranoidly, as containers/image does:
 * exactly `critical` and `optional` at the top; exactly `type`, `image` and
 * `identity` in `critical`, exactly `docker-manifest-digest` in `image` and
 * exactly `docker-reference` in `identity`; `critical.type` must be
 * {@link SIMPLE_SIGNING_TYPE}; `optional` may hold anything, but a
 * `creator` must be a string and a `timestamp` an integer. Duplicate keys,
 * wrong types, trailing data and invalid digests throw SignatureInvalidError
 * naming the field. The result is still UNTRUSTED.
 */
export function parseSimpleSigningPayload(bytes: Uint8Array | string): SimpleSigningPayload {
  const doc = parseJsonStrictly(bytes, { error: (m) => invalid(m) });
  const top = objectAt(doc, []);
  exactKeys(top, ["critical", "optional"], []);
  const optional = objectAt(top.optional, ["optional"]);
  const critical = objectAt(top.critical, ["critical"]);
  exactKeys(critical, ["type", "image", "identity"], ["critical"]);
  const type = stringAt(critical.type, ["critical", "type"]);
  if (type !== SIMPLE_SIGNING_TYPE) throw invalid(`unrecognized signature type ${JSON.stringify(type)} in critical.type`);
  const image = objectAt(critical.image, ["critical", "image"]);
  exactKeys(image, ["docker-manifest-digest"], ["critical", "image"]);
  const digestText = stringAt(image["docker-manifest-digest"], ["critical", "image", "docker-manifest-digest"]);
  let dockerManifestDigest: Digest;
  try {
    dockerManifestDigest = parseDigest(digestText);
  } catch (e) {
    throw new SignatureInvalidError(`invalid signature payload: ${at(["critical", "image", "docker-manifest-digest"])}: ${(e as Error).message}`, { cause: e });
  }
  const identity = objectAt(critical.identity, ["critical", "identity"]);
  exactKeys(identity, ["docker-reference"], ["critical", "identity"]);
  const dockerReference = stringAt(identity["docker-reference"], ["critical", "identity", "docker-reference"]);

  const result: SimpleSigningPayload = { dockerManifestDigest, dockerReference };
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
