import type { Key, KeyID, PrivateKey, Subkey } from "openpgp";
import { InvalidConfigurationError, fromUtf8 } from "@stevedore/types";
import type { OpenPgpModule } from "./load.js";

const ARMOR_BEGIN = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/** Uppercase hex of a key's fingerprint, as gpg prints it. */
export function fingerprintOf(key: Key | Subkey): string {
  return key.getFingerprint().toUpperCase();
}

/** Uppercase 16-digit hex of a key ID. */
export function keyIdHex(keyID: { toHex(): string }): string {
  return keyID.toHex().toUpperCase();
}

function looksArmored(blob: Uint8Array): boolean {
  // Skip leading whitespace; an armored block starts with "-----BEGIN".
  let i = 0;
  while (i < blob.length && (blob[i] === 0x20 || blob[i] === 0x09 || blob[i] === 0x0a || blob[i] === 0x0d)) i++;
  return blob[i] === 0x2d; // "-"
}

/**
 * Reads every OpenPGP key (public or private) in `blob`: binary keyrings (one
 * or more transferable keys back to back) or one or more ASCII-armored key
 * blocks. An empty blob holds no keys. `what` names the blob in errors.
 */
export async function readKeyBlob(pgp: OpenPgpModule, blob: Uint8Array, what: string): Promise<Key[]> {
  if (blob.length === 0) return [];
  try {
    if (looksArmored(blob)) {
      let text: string;
      try {
        text = fromUtf8(blob);
      } catch {
        throw new Error("armored key data is not valid UTF-8");
      }
      const blocks = text.match(ARMOR_BEGIN) ?? [];
      if (blocks.length === 0) throw new Error("no complete \"BEGIN PGP PUBLIC/PRIVATE KEY BLOCK\" armor found");
      const keys: Key[] = [];
      for (const block of blocks) keys.push(...(await pgp.readKeys({ armoredKeys: block })));
      return keys;
    }
    return await pgp.readKeys({ binaryKeys: blob });
  } catch (e) {
    throw new InvalidConfigurationError(`${what} does not contain OpenPGP keys: ${(e as Error).message}`, { cause: e });
  }
}

/** Normalises a hex key identity (`0x` prefix, spaces, lowercase allowed); undefined when it is not hex. */
function hexIdentity(identity: string): string | undefined {
  const s = identity.replace(/\s+/g, "").replace(/^0x/i, "").toUpperCase();
  return /^(?:[0-9A-F]{8}|[0-9A-F]{16}|[0-9A-F]{40}|[0-9A-F]{64})$/.test(s) ? s : undefined;
}

function keyMatchesHex(k: Key | Subkey, hex: string): boolean {
  if (hex.length >= 40) return fingerprintOf(k) === hex;
  const kid = keyIdHex(k.getKeyID());
  return hex.length === 16 ? kid === hex : kid.endsWith(hex);
}

function emailOf(uid: string): string | undefined {
  const m = /<([^<>]*)>\s*$/.exec(uid);
  return m?.[1];
}

/** What {@link findSigningKey} found: the key and, when the identity named one subkey exactly, that subkey. */
export interface SigningKeyChoice {
  key: PrivateKey;
  /** Set when the identity named a (sub)key by ID or fingerprint. */
  keyID?: KeyID;
}

/**
 * Finds the private key `identity` names, the way `gpg --local-user` does:
 * a fingerprint or (long or short) key ID of the primary key or a subkey
 * (optionally `0x`-prefixed; a trailing `!` asks for exactly that subkey),
 * `<email>` (exact address), `=user id` (exact user ID), or otherwise a
 * case-insensitive substring of a user ID.
 */
export function findSigningKey(keys: readonly PrivateKey[], identity: string): SigningKeyChoice | undefined {
  const exact = identity.endsWith("!");
  const id = exact ? identity.slice(0, -1) : identity;
  const hex = hexIdentity(id);
  if (hex !== undefined) {
    for (const key of keys) {
      if (keyMatchesHex(key, hex)) return exact ? { key, keyID: key.getKeyID() } : { key };
      for (const sub of key.subkeys) {
        if (keyMatchesHex(sub, hex)) return exact ? { key, keyID: sub.getKeyID() } : { key };
      }
    }
    return undefined;
  }
  const trimmed = id.trim();
  if (trimmed === "") return undefined;
  for (const key of keys) {
    for (const uid of key.getUserIDs()) {
      if (trimmed.startsWith("=")) {
        if (uid === trimmed.slice(1)) return { key };
      } else if (trimmed.startsWith("<") && trimmed.endsWith(">")) {
        if (emailOf(uid)?.toLowerCase() === trimmed.slice(1, -1).toLowerCase()) return { key };
      } else if (uid.toLowerCase().includes(trimmed.toLowerCase())) {
        return { key };
      }
    }
  }
  return undefined;
}
