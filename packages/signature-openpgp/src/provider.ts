import type { Key, PrivateKey } from "openpgp";
import type { SignatureMechanism, SignatureMechanismProvider } from "@stevedore/types";
import { fingerprintOf, readKeyBlob } from "./internal/keys.js";
import { loadOpenPgp } from "./internal/load.js";
import { OpenPgpMechanism } from "./mechanism.js";

/**
 * The `openpgp` signature backend: mechanisms on openpgp.js, with keys
 * given as bytes (no keyring files, so it works in a browser).
 *
 * - `newMechanism({ keys })`: signs with the private keys among `keys` and
 *   trusts the public parts of all of them. `homeDir` is not read: export
 *   keys with `gpg --export-secret-keys` / `gpg --export` and pass the bytes.
 * - `newEphemeralMechanism(keyBlobs)`: trusts exactly the keys in the blobs
 *   and returns their primary fingerprints (uppercase hex), in order, once
 *   per key and blob.
 */
export const openpgpMechanismProvider: SignatureMechanismProvider = Object.freeze({
  name: "openpgp",

  async newMechanism(options: { homeDir?: string; keys?: readonly Uint8Array[] } = {}): Promise<SignatureMechanism> {
    const pgp = await loadOpenPgp();
    const keys: Key[] = [];
    for (const [i, blob] of (options.keys ?? []).entries()) keys.push(...(await readKeyBlob(pgp, blob, `key data #${i + 1}`)));
    return new OpenPgpMechanism({
      verificationKeys: keys,
      signingKeys: keys.filter((k): k is PrivateKey => k.isPrivate()),
    });
  },

  async newEphemeralMechanism(keyBlobs: readonly Uint8Array[]): Promise<{ mechanism: SignatureMechanism; keyIdentities: string[] }> {
    const pgp = await loadOpenPgp();
    const keys: Key[] = [];
    const keyIdentities: string[] = [];
    for (const [i, blob] of keyBlobs.entries()) {
      const found = await readKeyBlob(pgp, blob, `key data #${i + 1}`);
      const seen = new Set<string>();
      for (const k of found) {
        const fpr = fingerprintOf(k);
        if (seen.has(fpr)) continue;
        seen.add(fpr);
        keys.push(k.isPrivate() ? k.toPublic() : k);
        keyIdentities.push(fpr);
      }
    }
    return { mechanism: new OpenPgpMechanism({ verificationKeys: keys, signingKeys: [] }), keyIdentities };
  },
});
