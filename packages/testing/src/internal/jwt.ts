import { createHash, createPublicKey, sign, X509Certificate, type KeyObject } from "node:crypto";

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes: Uint8Array): string {
  let out = "";
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * The key ID Docker Distribution derives for a trusted public key (the
 * libtrust fingerprint): SHA-256 of the DER SubjectPublicKeyInfo, first 240
 * bits, base32 without padding, in colon-separated groups of four.
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const spki = publicKey.export({ type: "spki", format: "der" });
  const digest = createHash("sha256").update(spki).digest().subarray(0, 30);
  return base32(digest).match(/.{4}/g)!.join(":");
}

/** base64url without padding. */
export function b64url(data: Uint8Array | string): string {
  return Buffer.from(data).toString("base64url");
}

/** The DER bytes of a PEM certificate, base64 (standard alphabet), as JWS `x5c` wants them. */
export function certificateX5c(certPem: string): string {
  return Buffer.from(new X509Certificate(certPem).raw).toString("base64");
}

/** The public key of a PEM certificate. */
export function certificatePublicKey(certPem: string): KeyObject {
  return createPublicKey(new X509Certificate(certPem).publicKey.export({ type: "spki", format: "pem" }));
}

/** Signs `claims` as a compact RS256 JWS with `header` (alg and typ are set here). */
export function signRs256(header: Record<string, unknown>, claims: Record<string, unknown>, privateKey: KeyObject): string {
  const head = b64url(JSON.stringify({ typ: "JWT", alg: "RS256", ...header }));
  const body = b64url(JSON.stringify(claims));
  const input = `${head}.${body}`;
  const signature = sign("sha256", Buffer.from(input), privateKey);
  return `${input}.${b64url(signature)}`;
}
