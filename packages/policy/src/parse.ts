import { anchoredNameRegexp, domainRegexp, isNameOnly, parseNormalizedNamed } from "@stevedore/reference";
import { formatJsonPath, isJsonObject, jsonTypeName, parseJsonStrictly, type JsonObject, type JsonPath, type JsonValue } from "@stevedore/signature-simple";
import { InvalidConfigurationError, type ImageTransport } from "@stevedore/types";
import type {
  Policy,
  PolicyReferenceMatch,
  PolicyRequirement,
  PolicyRequirements,
  PolicyTransportScopes,
  SignedByKeyType,
  SigstoreFulcioConfig,
  SigstorePkiConfig,
  SigstoreSignedRequirement,
} from "./types.js";

/** Looks transports up by name, e.g. a `TransportRegistry` of `@stevedore/types`. */
export interface TransportLookup {
  get(name: string): ImageTransport | undefined;
}

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /** Named in error messages, e.g. the file path. */
  source?: string;
  /**
   * Transports whose `validatePolicyConfigurationScope` checks the scopes of
   * their section. Scopes of transports it does not know are not checked
   * (as containers/image does for unknown transport names).
   */
  transports?: TransportLookup;
}

const SIGNED_BY_KEY_TYPES: readonly SignedByKeyType[] = ["GPGKeys", "signedByGPGKeys", "X509Certificates", "signedByX509CAs"];

class Ctx {
  constructor(readonly source: string | undefined) {}

  error(path: JsonPath, reason: string): InvalidConfigurationError {
    const where = this.source ? ` in ${this.source}` : "";
    return new InvalidConfigurationError(`invalid policy${where}: ${formatJsonPath(path)}: ${reason}`);
  }
}

function has(o: JsonObject, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k);
}

function child(path: JsonPath, k: string | number): JsonPath {
  return [...path, k];
}

function objectAt(ctx: Ctx, v: JsonValue | undefined, path: JsonPath): JsonObject {
  if (!isJsonObject(v)) throw ctx.error(path, `expected an object, found ${jsonTypeName(v)}`);
  return v;
}

function onlyKeys(ctx: Ctx, o: JsonObject, allowed: readonly string[], path: JsonPath, what: string): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw ctx.error(child(path, k), `unknown field ${JSON.stringify(k)} in ${what} (allowed: ${allowed.join(", ")})`);
  }
}

function stringAt(ctx: Ctx, o: JsonObject, k: string, path: JsonPath, options: { nonEmpty?: boolean } = {}): string {
  const v = o[k];
  if (typeof v !== "string") throw ctx.error(child(path, k), `expected a string, found ${jsonTypeName(v)}`);
  if (options.nonEmpty && v === "") throw ctx.error(child(path, k), "must not be empty");
  return v;
}

function optionalString(ctx: Ctx, o: JsonObject, k: string, path: JsonPath): string | undefined {
  return has(o, k) ? stringAt(ctx, o, k, path, { nonEmpty: true }) : undefined;
}

function stringList(ctx: Ctx, o: JsonObject, k: string, path: JsonPath): string[] {
  const v = o[k];
  const p = child(path, k);
  if (!Array.isArray(v)) throw ctx.error(p, `expected an array of strings, found ${jsonTypeName(v)}`);
  if (v.length === 0) throw ctx.error(p, "must contain at least one entry");
  return v.map((e, i) => {
    if (typeof e !== "string") throw ctx.error(child(p, i), `expected a string, found ${jsonTypeName(e)}`);
    if (e === "") throw ctx.error(child(p, i), "must not be empty");
    return e;
  });
}

const B64 = /^[A-Za-z0-9+/]*={0,2}$/;

function decodeBase64(ctx: Ctx, s: string, path: JsonPath): Uint8Array {
  // Like Go's encoding/json for []byte: standard alphabet with padding; line breaks are ignored.
  const t = s.replace(/[\r\n]/g, "");
  if (!B64.test(t) || t.length % 4 !== 0) throw ctx.error(path, "not valid base64 (standard alphabet, padded)");
  let bin: string;
  try {
    bin = atob(t);
  } catch {
    throw ctx.error(path, "not valid base64");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bytesAt(ctx: Ctx, o: JsonObject, k: string, path: JsonPath): Uint8Array {
  const b = decodeBase64(ctx, stringAt(ctx, o, k, path), child(path, k));
  if (b.length === 0) throw ctx.error(child(path, k), "must not be empty");
  return b;
}

function bytesList(ctx: Ctx, o: JsonObject, k: string, path: JsonPath): Uint8Array[] {
  const v = o[k];
  const p = child(path, k);
  if (!Array.isArray(v)) throw ctx.error(p, `expected an array of base64 strings, found ${jsonTypeName(v)}`);
  if (v.length === 0) throw ctx.error(p, "must contain at least one entry");
  return v.map((e, i) => {
    if (typeof e !== "string") throw ctx.error(child(p, i), `expected a base64 string, found ${jsonTypeName(e)}`);
    const b = decodeBase64(ctx, e, child(p, i));
    if (b.length === 0) throw ctx.error(child(p, i), "must not be empty");
    return b;
  });
}

function typeOf(ctx: Ctx, o: JsonObject, path: JsonPath): string {
  if (!has(o, "type")) throw ctx.error(path, 'missing field "type"');
  return stringAt(ctx, o, "type", path);
}

const anchoredDomain = new RegExp(`^(?:${domainRegexp.source})$`);
const domainThenSlash = new RegExp(`^(?:${domainRegexp.source})/`);

/**
 * Whether `s` may be a `prefix`/`signedPrefix` of `remapIdentity`: a
 * host[:port], or a repository or namespace in fully expanded form (it
 * starts with a domain and has no tag or digest).
 */
export function isValidRemapPrefix(s: string): boolean {
  return anchoredDomain.test(s) || (anchoredNameRegexp.test(s) && domainThenSlash.test(s));
}

/** Parses a `signedIdentity`/`baseLayerIdentity` object. */
function parseReferenceMatch(ctx: Ctx, v: JsonValue | undefined, path: JsonPath): PolicyReferenceMatch {
  const o = objectAt(ctx, v, path);
  const type = typeOf(ctx, o, path);
  switch (type) {
    case "matchExact":
    case "matchRepoDigestOrExact":
    case "matchRepository":
      onlyKeys(ctx, o, ["type"], path, type);
      return { type };
    case "exactReference": {
      onlyKeys(ctx, o, ["type", "dockerReference"], path, type);
      if (!has(o, "dockerReference")) throw ctx.error(path, 'missing field "dockerReference"');
      const dockerReference = stringAt(ctx, o, "dockerReference", path);
      let ref;
      try {
        ref = parseNormalizedNamed(dockerReference);
      } catch (e) {
        throw ctx.error(child(path, "dockerReference"), `invalid docker reference ${JSON.stringify(dockerReference)}: ${(e as Error).message}`);
      }
      if (isNameOnly(ref)) {
        throw ctx.error(child(path, "dockerReference"), `${JSON.stringify(dockerReference)} has neither a tag nor a digest`);
      }
      return { type, dockerReference };
    }
    case "exactRepository": {
      onlyKeys(ctx, o, ["type", "dockerRepository"], path, type);
      if (!has(o, "dockerRepository")) throw ctx.error(path, 'missing field "dockerRepository"');
      const dockerRepository = stringAt(ctx, o, "dockerRepository", path);
      try {
        parseNormalizedNamed(dockerRepository);
      } catch (e) {
        throw ctx.error(child(path, "dockerRepository"), `invalid docker repository ${JSON.stringify(dockerRepository)}: ${(e as Error).message}`);
      }
      return { type, dockerRepository };
    }
    case "remapIdentity": {
      onlyKeys(ctx, o, ["type", "prefix", "signedPrefix"], path, type);
      for (const k of ["prefix", "signedPrefix"]) if (!has(o, k)) throw ctx.error(path, `missing field ${JSON.stringify(k)}`);
      const prefix = stringAt(ctx, o, "prefix", path);
      const signedPrefix = stringAt(ctx, o, "signedPrefix", path);
      for (const [k, s] of [
        ["prefix", prefix],
        ["signedPrefix", signedPrefix],
      ] as const) {
        if (!isValidRemapPrefix(s)) {
          throw ctx.error(child(path, k), `${JSON.stringify(s)} is not a host[:port], namespace or repository in fully expanded form`);
        }
      }
      return { type, prefix, signedPrefix };
    }
    default:
      throw ctx.error(child(path, "type"), `unknown identity match type ${JSON.stringify(type)}`);
  }
}

const DEFAULT_IDENTITY: PolicyReferenceMatch = Object.freeze({ type: "matchRepoDigestOrExact" });

function exactlyOne(ctx: Ctx, o: JsonObject, keys: readonly string[], path: JsonPath): void {
  const present = keys.filter((k) => has(o, k));
  if (present.length !== 1) {
    throw ctx.error(
      path,
      `exactly one of ${keys.join(", ")} must be present, ${present.length === 0 ? "none is" : `found ${present.join(" and ")}`}`,
    );
  }
}

function parseFulcio(ctx: Ctx, v: JsonValue | undefined, path: JsonPath): SigstoreFulcioConfig {
  const o = objectAt(ctx, v, path);
  onlyKeys(ctx, o, ["caPath", "caData", "oidcIssuer", "subjectEmail"], path, "fulcio");
  exactlyOne(ctx, o, ["caPath", "caData"], path);
  for (const k of ["oidcIssuer", "subjectEmail"]) if (!has(o, k)) throw ctx.error(path, `missing field ${JSON.stringify(k)}`);
  const caPath = optionalString(ctx, o, "caPath", path);
  return {
    ...(caPath !== undefined ? { caPath } : {}),
    ...(has(o, "caData") ? { caData: bytesAt(ctx, o, "caData", path) } : {}),
    oidcIssuer: stringAt(ctx, o, "oidcIssuer", path, { nonEmpty: true }),
    subjectEmail: stringAt(ctx, o, "subjectEmail", path, { nonEmpty: true }),
  };
}

function parsePki(ctx: Ctx, v: JsonValue | undefined, path: JsonPath): SigstorePkiConfig {
  const o = objectAt(ctx, v, path);
  const keys = ["caRootsPath", "caRootsData", "caIntermediatesPath", "caIntermediatesData", "subjectEmail", "subjectHostname"];
  onlyKeys(ctx, o, keys, path, "pki");
  exactlyOne(ctx, o, ["caRootsPath", "caRootsData"], path);
  if (has(o, "caIntermediatesPath") && has(o, "caIntermediatesData")) {
    throw ctx.error(path, "caIntermediatesPath and caIntermediatesData cannot be used together");
  }
  if (!has(o, "subjectEmail") && !has(o, "subjectHostname")) throw ctx.error(path, "at least one of subjectEmail and subjectHostname must be present");
  const out: Record<string, string | Uint8Array> = {};
  for (const k of ["caRootsPath", "caIntermediatesPath", "subjectEmail", "subjectHostname"]) {
    const s = optionalString(ctx, o, k, path);
    if (s !== undefined) out[k] = s;
  }
  for (const k of ["caRootsData", "caIntermediatesData"]) if (has(o, k)) out[k] = bytesAt(ctx, o, k, path);
  return out as SigstorePkiConfig;
}

function parseSigstoreSigned(ctx: Ctx, o: JsonObject, path: JsonPath): SigstoreSignedRequirement {
  const keyFields = ["keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki"];
  const rekorFields = ["rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas"];
  onlyKeys(ctx, o, ["type", ...keyFields, ...rekorFields, "signedIdentity"], path, "a sigstoreSigned requirement");
  exactlyOne(ctx, o, keyFields, path);
  const rekor = rekorFields.filter((k) => has(o, k));
  if (rekor.length > 1) throw ctx.error(path, `at most one of ${rekorFields.join(", ")} may be present, found ${rekor.join(" and ")}`);
  if (has(o, "fulcio") && rekor.length === 0) throw ctx.error(path, `fulcio needs one of ${rekorFields.join(", ")}`);
  const r: Record<string, unknown> = { type: "sigstoreSigned" };
  for (const k of ["keyPath", "rekorPublicKeyPath"]) {
    const s = optionalString(ctx, o, k, path);
    if (s !== undefined) r[k] = s;
  }
  for (const k of ["keyPaths", "rekorPublicKeyPaths"]) if (has(o, k)) r[k] = stringList(ctx, o, k, path);
  for (const k of ["keyData", "rekorPublicKeyData"]) if (has(o, k)) r[k] = bytesAt(ctx, o, k, path);
  for (const k of ["keyDatas", "rekorPublicKeyDatas"]) if (has(o, k)) r[k] = bytesList(ctx, o, k, path);
  if (has(o, "fulcio")) r.fulcio = parseFulcio(ctx, o.fulcio, child(path, "fulcio"));
  if (has(o, "pki")) r.pki = parsePki(ctx, o.pki, child(path, "pki"));
  r.signedIdentity = has(o, "signedIdentity") ? parseReferenceMatch(ctx, o.signedIdentity, child(path, "signedIdentity")) : DEFAULT_IDENTITY;
  return r as unknown as SigstoreSignedRequirement;
}

function parseRequirement(ctx: Ctx, v: JsonValue | undefined, path: JsonPath): PolicyRequirement {
  const o = objectAt(ctx, v, path);
  const type = typeOf(ctx, o, path);
  switch (type) {
    case "insecureAcceptAnything":
    case "reject":
      onlyKeys(ctx, o, ["type"], path, `a ${type} requirement`);
      return { type };
    case "signedBy": {
      onlyKeys(ctx, o, ["type", "keyType", "keyPath", "keyPaths", "keyData", "signedIdentity"], path, "a signedBy requirement");
      if (!has(o, "keyType")) throw ctx.error(path, 'missing field "keyType"');
      const keyType = stringAt(ctx, o, "keyType", path);
      if (!(SIGNED_BY_KEY_TYPES as readonly string[]).includes(keyType)) {
        throw ctx.error(child(path, "keyType"), `unrecognized keyType ${JSON.stringify(keyType)} (known: ${SIGNED_BY_KEY_TYPES.join(", ")})`);
      }
      exactlyOne(ctx, o, ["keyPath", "keyPaths", "keyData"], path);
      const keyPath = optionalString(ctx, o, "keyPath", path);
      return {
        type,
        keyType: keyType as SignedByKeyType,
        ...(keyPath !== undefined ? { keyPath } : {}),
        ...(has(o, "keyPaths") ? { keyPaths: stringList(ctx, o, "keyPaths", path) } : {}),
        ...(has(o, "keyData") ? { keyData: bytesAt(ctx, o, "keyData", path) } : {}),
        signedIdentity: has(o, "signedIdentity") ? parseReferenceMatch(ctx, o.signedIdentity, child(path, "signedIdentity")) : DEFAULT_IDENTITY,
      };
    }
    case "sigstoreSigned":
      return parseSigstoreSigned(ctx, o, path);
    case "signedBaseLayer":
      onlyKeys(ctx, o, ["type", "baseLayerIdentity"], path, "a signedBaseLayer requirement");
      if (!has(o, "baseLayerIdentity")) throw ctx.error(path, 'missing field "baseLayerIdentity"');
      return { type, baseLayerIdentity: parseReferenceMatch(ctx, o.baseLayerIdentity, child(path, "baseLayerIdentity")) };
    default:
      throw ctx.error(child(path, "type"), `unknown policy requirement type ${JSON.stringify(type)}`);
  }
}

function parseRequirements(ctx: Ctx, v: JsonValue | undefined, path: JsonPath): PolicyRequirements {
  if (!Array.isArray(v)) throw ctx.error(path, `expected an array of policy requirements, found ${jsonTypeName(v)}`);
  if (v.length === 0) throw ctx.error(path, "the list of policy requirements must not be empty");
  return Object.freeze(v.map((r, i) => parseRequirement(ctx, r, child(path, i))));
}

/**
 * Parses policy.json (bytes or text) exactly as containers-policy.json(5)
 * defines it. Unknown fields, duplicate keys, trailing data, wrong types, an
 * empty requirement list, a missing `default`, an invalid identity or scope
 * are InvalidConfigurationError naming the JSON path, e.g.
 * `transports.docker["quay.io"][0].keyPath`. `signedIdentity` defaults to
 * `matchRepoDigestOrExact`. Fields that Stevedore cannot evaluate yet
 * (X509 key types, sigstore Fulcio/PKI/Rekor) are parsed and validated here
 * and refused when a requirement is evaluated.
 */
export function parsePolicy(input: Uint8Array | string, options: ParsePolicyOptions = {}): Policy {
  const ctx = new Ctx(options.source);
  const doc = parseJsonStrictly(input, {
    error: (m) => new InvalidConfigurationError(`invalid policy${options.source ? ` in ${options.source}` : ""}: ${m}`),
  });
  const top = objectAt(ctx, doc, []);
  onlyKeys(ctx, top, ["default", "transports"], [], "the policy");
  if (!has(top, "default")) throw ctx.error([], 'the "default" policy is missing');
  const def = parseRequirements(ctx, top.default, ["default"]);
  const transports: Record<string, PolicyTransportScopes> = Object.create(null) as Record<string, PolicyTransportScopes>;
  if (has(top, "transports")) {
    const tObj = objectAt(ctx, top.transports, ["transports"]);
    for (const name of Object.keys(tObj)) {
      const tPath = ["transports", name];
      const scopesObj = objectAt(ctx, tObj[name], tPath);
      const transport = options.transports?.get(name);
      const scopes: Record<string, PolicyRequirements> = Object.create(null) as Record<string, PolicyRequirements>;
      for (const scope of Object.keys(scopesObj)) {
        const sPath = [...tPath, scope];
        if (scope !== "" && transport) {
          try {
            transport.validatePolicyConfigurationScope(scope);
          } catch (e) {
            throw ctx.error(sPath, `invalid scope for the ${name} transport: ${(e as Error).message}`);
          }
        }
        scopes[scope] = parseRequirements(ctx, scopesObj[scope], sPath);
      }
      transports[name] = Object.freeze(scopes);
    }
  }
  return Object.freeze({ default: def, transports: Object.freeze(transports) });
}
