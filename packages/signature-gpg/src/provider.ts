import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnsupportedError, type SignatureMechanism, type SignatureMechanismProvider } from "@stevedore/types";
import { GpgMechanism } from "./mechanism.js";

/** Options of {@link createGpgMechanismProvider}. */
export interface GpgProviderOptions {
  /** The gpg binary; default `gpg` on PATH. */
  gpgPath?: string;
  /** Where ephemeral homes are made; default the OS temporary directory. */
  tempDir?: string;
}

/**
 * Makes the `gpg` signature backend: mechanisms that run the system's gpg.
 *
 * - `newMechanism({ homeDir })`: the keyring in `homeDir` (else GNUPGHOME,
 *   else ~/.gnupg, as gpg decides). Passing `keys` is not supported: import
 *   keys into the home with `gpg --import`.
 * - `newEphemeralMechanism(keyBlobs)`: a new temporary home holding only the
 *   keys in the blobs (binary or armored, one or more keys each), removed by
 *   `close()`; returns the primary fingerprints (uppercase hex) gpg imported,
 *   once per key and blob. A non-empty blob without keys is an error.
 */
export function createGpgMechanismProvider(options: GpgProviderOptions = {}): SignatureMechanismProvider {
  const gpgPath = options.gpgPath;
  return Object.freeze({
    name: "gpg",
    async newMechanism(o: { homeDir?: string; keys?: readonly Uint8Array[] } = {}): Promise<SignatureMechanism> {
      if (o.keys !== undefined && o.keys.length > 0) {
        throw new UnsupportedError(
          "the gpg signature mechanism does not take keys as bytes: import them into a GnuPG home (gpg --import) and pass homeDir, or use the openpgp mechanism",
        );
      }
      return new GpgMechanism({
        ...(o.homeDir !== undefined ? { homeDir: o.homeDir } : {}),
        ...(gpgPath !== undefined ? { gpgPath } : {}),
      });
    },
    async newEphemeralMechanism(keyBlobs: readonly Uint8Array[]): Promise<{ mechanism: SignatureMechanism; keyIdentities: string[] }> {
      const home = await mkdtemp(join(options.tempDir ?? tmpdir(), "stevedore-gpg-"));
      const mechanism = new GpgMechanism({ homeDir: home, ephemeralHome: true, ...(gpgPath !== undefined ? { gpgPath } : {}) });
      try {
        const keyIdentities: string[] = [];
        for (const [i, blob] of keyBlobs.entries()) keyIdentities.push(...(await mechanism.importKeys(blob, `key data #${i + 1}`)));
        return { mechanism, keyIdentities };
      } catch (e) {
        await mechanism.close().catch(() => rm(home, { recursive: true, force: true }));
        throw e;
      }
    },
  });
}

/** The `gpg` signature backend with the `gpg` on PATH. */
export const gpgMechanismProvider: SignatureMechanismProvider = createGpgMechanismProvider();
