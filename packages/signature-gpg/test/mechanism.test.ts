import { afterAll, describe, expect, test } from "vitest";
import fc from "fast-check";
import { existsSync, readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createGpgTestKeys, TEST_PAYLOAD, type GpgTestKeys } from "@stevedore/testing";
import { createGpgMechanismProvider, gpgMechanismProvider, GpgMechanism } from "@stevedore/signature-gpg";
import { MissingToolError, SignatureInvalidError, UnsupportedError } from "@stevedore/types";

let keysPromise: Promise<GpgTestKeys> | undefined;
const keys = () => (keysPromise ??= createGpgTestKeys());
afterAll(async () => {
  if (keysPromise) await (await keysPromise).cleanup();
});

const T = 60_000;

describe("gpgMechanismProvider", () => {
  test("name is \"gpg\"", () => {
    expect(gpgMechanismProvider.name).toBe("gpg");
  });

  test("a missing gpg binary throws MissingToolError naming the gnupg package", async () => {
    const p = createGpgMechanismProvider({ gpgPath: "/nonexistent/stevedore/gpg" });
    const m = await p.newMechanism();
    await expect(m.verify(new Uint8Array([0xa3, 0x01]))).rejects.toBeInstanceOf(MissingToolError);
    await expect(m.supportsSigning()).rejects.toThrow(/"gnupg"/);
  });

  test("newMechanism() with keys as bytes throws UnsupportedError", async () => {
    await expect(gpgMechanismProvider.newMechanism({ keys: [new Uint8Array([1])] })).rejects.toBeInstanceOf(UnsupportedError);
  });

  test(
    "newMechanism({ homeDir }) verifies with the keyring in that home and signs with its secret keys",
    async () => {
      const k = await keys();
      const m = await gpgMechanismProvider.newMechanism({ homeDir: k.homeDir });
      expect((m as GpgMechanism).homeDir).toBe(k.homeDir);
      const sig = await m.sign(TEST_PAYLOAD, k.rsa.email);
      expect((await m.verify(sig)).keyIdentity).toBe(k.rsa.fingerprint);
      // The other home does not know the key.
      const other = await gpgMechanismProvider.newMechanism({ homeDir: k.otherHomeDir });
      await expect(other.verify(sig)).rejects.toThrow(/unknown key ID/);
      await m.close();
      expect(existsSync(k.homeDir)).toBe(true);
    },
    T,
  );

  test(
    "close() of an ephemeral mechanism removes its temporary home, also after importing a secret key",
    async () => {
      const k = await keys();
      const { mechanism, keyIdentities } = await gpgMechanismProvider.newEphemeralMechanism([k.rsa.secretKey, k.subkey.publicKey]);
      expect(keyIdentities).toEqual([k.rsa.fingerprint, k.subkey.fingerprint]);
      const home = (mechanism as GpgMechanism).homeDir ?? "";
      expect(existsSync(join(home, "pubring.kbx"))).toBe(true);
      await mechanism.close();
      expect(existsSync(home)).toBe(false);
      await expect(mechanism.verify(TEST_PAYLOAD)).rejects.toBeInstanceOf(UnsupportedError);
    },
    T,
  );

  test("newEphemeralMechanism() failing on a bad blob leaves no temporary home behind", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stevedore-gpg-test-"));
    try {
      const p = createGpgMechanismProvider({ tempDir: dir });
      await expect(p.newEphemeralMechanism([new TextEncoder().encode("no key here")])).rejects.toThrow(/does not contain OpenPGP keys/);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("an aborted signal cancels verify() with AbortError", async () => {
    const m = await gpgMechanismProvider.newMechanism();
    const ac = new AbortController();
    ac.abort();
    await expect(m.verify(new Uint8Array([0xa3]), { signal: ac.signal })).rejects.toMatchObject({ code: "ERR_ABORTED" });
  });

  test(
    "verify() of random and corrupted bytes throws SignatureInvalidError, never crashes",
    async () => {
      const k = await keys();
      const { mechanism } = await gpgMechanismProvider.newEphemeralMechanism([k.rsa.publicKey]);
      const real = await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.oneof(
              fc.uint8Array({ maxLength: 200 }),
              fc.tuple(fc.nat({ max: real.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
                const c = real.slice();
                c[i] = (c[i] ?? 0) ^ x;
                return c;
              }),
            ),
            async (bytes) => {
              try {
                await mechanism.verify(bytes);
              } catch (e) {
                expect(e).toBeInstanceOf(SignatureInvalidError);
              }
            },
          ),
          { numRuns: 40 },
        );
      } finally {
        await mechanism.close();
      }
    },
    T,
  );
});
