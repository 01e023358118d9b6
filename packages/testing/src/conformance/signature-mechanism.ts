import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  InvalidConfigurationError,
  SignatureInvalidError,
  UnauthorizedError,
  type SignatureMechanism,
  type SignatureMechanismProvider,
} from "@stevedore/types";
import { requireTool } from "../tools.js";
import type { TestApi } from "./api.js";

// ---------------------------------------------------------------------------
// Real gpg keys for tests
// ---------------------------------------------------------------------------

/** What one gpg run printed. */
export interface GpgRunResult {
  code: number | null;
  stdout: Uint8Array;
  stderr: string;
  /** The `[GNUPG:]` status lines, without the prefix. */
  status: string[];
}

/** Options of {@link runTestGpg}. */
export interface RunTestGpgOptions {
  /** The GnuPG home; required so that tests never touch the user's keyring. */
  homeDir: string;
  input?: Uint8Array | string;
  /** Passed with `--pinentry-mode loopback --passphrase-fd`. */
  passphrase?: string;
  /** `--faked-system-time`, e.g. `20200101T000000`. */
  fakedTime?: string;
}

/**
 * Runs the real `gpg` (no shell) with `--batch --no-tty --status-fd` in a
 * test's GnuPG home. A missing gpg fails with MissingToolError naming the
 * Debian package `gnupg`.
 */
export function runTestGpg(args: readonly string[], options: RunTestGpgOptions): Promise<GpgRunResult> {
  const gpg = requireTool("gpg");
  const full = ["--homedir", options.homeDir, "--batch", "--no-tty", "--status-fd", "3"];
  if (options.fakedTime) full.push("--faked-system-time", options.fakedTime);
  if (options.passphrase !== undefined) full.push("--pinentry-mode", "loopback", "--passphrase-fd", "4");
  full.push(...args);
  return new Promise((resolve, reject) => {
    const child = spawn(gpg, full, { stdio: ["pipe", "pipe", "pipe", "pipe", "pipe"], env: { ...process.env, LC_ALL: "C" } });
    const out: Buffer[] = [];
    let err = "";
    let status = "";
    child.on("error", reject);
    child.stdout?.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    child.stdio[3]?.on("data", (c: Buffer) => (status += c.toString("latin1")));
    for (const s of [child.stdin, child.stdio[4]]) s?.on("error", () => {});
    child.stdin?.end(options.input ?? "");
    (child.stdio[4] as NodeJS.WritableStream | null)?.end(options.passphrase !== undefined ? options.passphrase + "\n" : "");
    child.on("close", (code) =>
      resolve({
        code,
        stdout: new Uint8Array(Buffer.concat(out)),
        stderr: err,
        status: status
          .split("\n")
          .filter((l) => l.startsWith("[GNUPG:] "))
          .map((l) => l.slice(9)),
      }),
    );
  });
}

async function gpgOk(args: readonly string[], options: RunTestGpgOptions): Promise<GpgRunResult> {
  const r = await runTestGpg(args, options);
  if (r.code !== 0) throw new Error(`gpg ${args.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r;
}

/** One generated test key. */
export interface TestKey {
  /** The user ID, `Name <email>`. */
  uid: string;
  email: string;
  /** Primary key fingerprint, uppercase hex. */
  fingerprint: string;
  /** Long key ID (last 16 hex digits of the primary fingerprint). */
  keyID: string;
  /** Fingerprint of the signing subkey, when the key has one. */
  signingSubkeyFingerprint?: string;
  /** The passphrase protecting the secret key, when there is one. */
  passphrase?: string;
  /** The armored public key (`gpg --export --armor`). */
  publicKey: Uint8Array;
  /** The armored secret key (`gpg --export-secret-keys --armor`), protected like in the keyring. */
  secretKey: Uint8Array;
}

/** Real keys made by gpg in temporary homes, for signature tests. */
export interface GpgTestKeys {
  /** The GnuPG home holding every key but `unknown` (with `ignore-cache-for-signing` in gpg-agent.conf). */
  homeDir: string;
  /** A second home, holding only `unknown`. */
  otherHomeDir: string;
  /** RSA 2048, signs with the primary key, no passphrase. */
  rsa: TestKey;
  /** Ed25519 protected by a passphrase. */
  protected: TestKey;
  /** Ed25519 certification-only primary key with an Ed25519 signing subkey. */
  subkey: TestKey;
  /** Made in 2020 with a one-day lifetime: expired now. */
  expired: TestKey;
  /** Revoked after it signed {@link GpgTestKeys.revokedSignature}. */
  revoked: TestKey;
  /** Made in 2020, valid, used for an expired signature. */
  old: TestKey;
  /** RSA 1024: too weak. */
  weak: TestKey;
  /** Lives only in `otherHomeDir`: unknown to every trust set built from the others. */
  unknown: TestKey;
  /** A signature of {@link TEST_PAYLOAD} made by `expired` while it was valid (2020). */
  expiredKeySignature: Uint8Array;
  /** A signature of {@link TEST_PAYLOAD} made by `revoked` before it was revoked. */
  revokedSignature: Uint8Array;
  /** A signature of {@link TEST_PAYLOAD} by `old` that expired in 2020. */
  expiredSignature: Uint8Array;
  /** Signs with real gpg: `--sign` (binary, compressed), `-u identity`, more args appended. */
  gpgSign(input: Uint8Array, identity: string, options?: { extraArgs?: string[]; passphrase?: string; homeDir?: string; fakedTime?: string }): Promise<Uint8Array>;
  /** Verifies with real gpg in a new home importing only `publicKeys`; returns the status lines and the output. */
  gpgVerify(signature: Uint8Array, publicKeys: readonly Uint8Array[]): Promise<GpgRunResult>;
  /** Stops the gpg-agents and removes the homes. */
  cleanup(): Promise<void>;
}

/** The payload the fixture's pre-made signatures sign. */
export const TEST_PAYLOAD = new TextEncoder().encode("stevedore signature mechanism test payload\n");

async function newHome(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  // Never reuse a passphrase gpg-agent remembered: a wrong passphrase must fail every time.
  await writeFile(join(dir, "gpg-agent.conf"), "ignore-cache-for-signing\nallow-loopback-pinentry\n");
  return dir;
}

async function killAgent(home: string): Promise<void> {
  const exists = await stat(join(home, "S.gpg-agent")).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  await new Promise<void>((resolve) => {
    const c = spawn("gpg-connect-agent", ["--homedir", home, "--no-autostart", "KILLAGENT", "/bye"], { stdio: "ignore" });
    c.on("error", () => resolve());
    c.on("close", () => resolve());
  });
}

async function makeKey(
  home: string,
  name: string,
  algo: string,
  usage: string,
  expire: string,
  options: { passphrase?: string; fakedTime?: string; signingSubkey?: string } = {},
): Promise<TestKey> {
  const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, "-")}@stevedore.test`;
  const uid = `${name} <${email}>`;
  const common = { homeDir: home, passphrase: options.passphrase ?? "", ...(options.fakedTime ? { fakedTime: options.fakedTime } : {}) };
  const gen = await gpgOk(["--quick-gen-key", uid, algo, usage, expire], common);
  const created = gen.status.find((s) => s.startsWith("KEY_CREATED "));
  const fingerprint = created?.split(" ")[2];
  if (!fingerprint) throw new Error(`gpg did not report the key it created for ${uid}: ${gen.stderr}`);
  let signingSubkeyFingerprint: string | undefined;
  if (options.signingSubkey) {
    await gpgOk(["--quick-add-key", fingerprint, options.signingSubkey, "sign", "never"], common);
    const list = await gpgOk(["--with-colons", "--with-subkey-fingerprint", "--list-keys", fingerprint], { homeDir: home });
    const fprs = new TextDecoder()
      .decode(list.stdout)
      .split("\n")
      .filter((l) => l.startsWith("fpr:"))
      .map((l) => l.split(":")[9] ?? "");
    signingSubkeyFingerprint = fprs.find((f) => f !== fingerprint);
  }
  const publicKey = (await gpgOk(["--export", "--armor", fingerprint], { homeDir: home })).stdout;
  const secretKey = (await gpgOk(["--export-secret-keys", "--armor", fingerprint], common)).stdout;
  return {
    uid,
    email,
    fingerprint,
    keyID: fingerprint.slice(-16),
    ...(signingSubkeyFingerprint ? { signingSubkeyFingerprint } : {}),
    ...(options.passphrase ? { passphrase: options.passphrase } : {}),
    publicKey,
    secretKey,
  };
}

/**
 * Generates real keys with `gpg --batch --quick-gen-key` in temporary homes
 * (a valid RSA key, a passphrase-protected key, a key signing with a subkey,
 * an expired key, a revoked key, a too-weak key, and a key nobody trusts),
 * plus signatures that can only be made in the past. Needs the system `gpg`
 * (Debian package `gnupg`); call `cleanup()` when done.
 */
export async function createGpgTestKeys(): Promise<GpgTestKeys> {
  requireTool("gpg");
  const homeDir = await newHome("stevedore-test-gpg-");
  const otherHomeDir = await newHome("stevedore-test-gpg-other-");
  const homes = [homeDir, otherHomeDir];
  const cleanup = async () => {
    for (const h of homes) {
      await killAgent(h);
      await rm(h, { recursive: true, force: true });
    }
  };
  try {
    const in2020 = "20200101T000000";
    const rsa = await makeKey(homeDir, "RSA Signer", "rsa2048", "sign", "never");
    const prot = await makeKey(homeDir, "Protected Signer", "ed25519", "sign", "never", { passphrase: "correct horse battery staple" });
    const subkey = await makeKey(homeDir, "Subkey Signer", "ed25519", "cert", "never", { signingSubkey: "ed25519" });
    const expired = await makeKey(homeDir, "Expired Signer", "ed25519", "sign", "1d", { fakedTime: in2020 });
    const revoked = await makeKey(homeDir, "Revoked Signer", "ed25519", "sign", "never");
    const old = await makeKey(homeDir, "Old Signer", "ed25519", "sign", "never", { fakedTime: in2020 });
    const weak = await makeKey(homeDir, "Weak Signer", "rsa1024", "sign", "never");
    const unknown = await makeKey(otherHomeDir, "Unknown Signer", "ed25519", "sign", "never");

    const gpgSign: GpgTestKeys["gpgSign"] = async (input, identity, o = {}) =>
      (
        await gpgOk(["--local-user", identity, ...(o.extraArgs ?? []), "--sign"], {
          homeDir: o.homeDir ?? homeDir,
          input,
          ...(o.passphrase !== undefined ? { passphrase: o.passphrase } : {}),
          ...(o.fakedTime ? { fakedTime: o.fakedTime } : {}),
        })
      ).stdout;

    const expiredKeySignature = await gpgSign(TEST_PAYLOAD, expired.fingerprint, { fakedTime: "20200101T010000" });
    const expiredSignature = await gpgSign(TEST_PAYLOAD, old.fingerprint, {
      fakedTime: "20200101T010000",
      extraArgs: ["--default-sig-expire", "1d"],
    });
    const revokedSignature = await gpgSign(TEST_PAYLOAD, revoked.fingerprint);
    // gpg stored a revocation certificate when it made the key; importing it revokes the key.
    const rev = await readFile(join(homeDir, "openpgp-revocs.d", `${revoked.fingerprint}.rev`), "utf8");
    await gpgOk(["--import"], { homeDir, input: rev.replace(/^:-----BEGIN/m, "-----BEGIN") });
    revoked.publicKey = (await gpgOk(["--export", "--armor", revoked.fingerprint], { homeDir })).stdout;

    const gpgVerify: GpgTestKeys["gpgVerify"] = async (signature, publicKeys) => {
      const home = await newHome("stevedore-test-gpg-verify-");
      try {
        for (const k of publicKeys) await gpgOk(["--import"], { homeDir: home, input: k });
        return await runTestGpg(["--trust-model", "always", "--output", "-", "--verify"], { homeDir: home, input: signature });
      } finally {
        await killAgent(home);
        await rm(home, { recursive: true, force: true });
      }
    };

    return {
      homeDir,
      otherHomeDir,
      rsa,
      protected: prot,
      subkey,
      expired,
      revoked,
      old,
      weak,
      unknown,
      expiredKeySignature,
      revokedSignature,
      expiredSignature,
      gpgSign,
      gpgVerify,
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

// ---------------------------------------------------------------------------
// The conformance suite
// ---------------------------------------------------------------------------

/** A signature backend under test. */
export interface SignatureMechanismSubject {
  /** The provider under test. */
  provider: SignatureMechanismProvider;
  /**
   * A mechanism of this provider able to sign with the test keys. The keys
   * exist twice: in the GnuPG home `homeDir` and as the armored secret keys
   * `secretKeys` (gpg-based backends use the first, byte-based ones the second).
   */
  newSigningMechanism(keys: { homeDir: string; secretKeys: readonly Uint8Array[] }): Promise<SignatureMechanism>;
}

/** Options of {@link signatureMechanismConformance}. */
export interface SignatureMechanismConformanceOptions {
  /** Other backends, by name: signatures made by each must verify with the other, and both must decide every input alike. */
  peers?: Readonly<Record<string, () => SignatureMechanismSubject | Promise<SignatureMechanismSubject>>>;
}

const enc = new TextEncoder();
const dec = new TextDecoder();
const SUITE_TIMEOUT = 60_000;

/** Flips one bit of the first occurrence of `needle` in `haystack` (the signed data inside an uncompressed message). */
function tamper(haystack: Uint8Array, needle: Uint8Array): Uint8Array {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    const copy = haystack.slice();
    const at = i + Math.floor(needle.length / 2);
    copy[at] = (copy[at] ?? 0) ^ 0x01;
    return copy;
  }
  throw new Error("the signed data was not found inside the signature (is it compressed?)");
}

type Outcome = { ok: true; keyIdentity: string; contents: string } | { ok: false; error: string };

async function outcome(m: SignatureMechanism, sig: Uint8Array): Promise<Outcome> {
  try {
    const v = await m.verify(sig);
    return { ok: true, keyIdentity: v.keyIdentity, contents: dec.decode(v.contents) };
  } catch (e) {
    return { ok: false, error: (e as Error).name };
  }
}

/**
 * The behaviour every {@link SignatureMechanismProvider} shares, checked
 * against the real gpg: keys are generated with `gpg --quick-gen-key`,
 * signatures made by the subject must verify with `gpg --verify` and
 * signatures made by `gpg --sign` with the subject; tampered signatures,
 * unknown, expired, revoked and weak keys, expired signatures, several
 * signers, wrong passphrases and non-signatures are refused with the same
 * error classes. With `peers`, the subject and each peer verify each other's
 * signatures and reach identical verdicts on a corpus of inputs.
 */
export function signatureMechanismConformance(
  api: TestApi,
  name: string,
  factory: () => SignatureMechanismSubject | Promise<SignatureMechanismSubject>,
  options: SignatureMechanismConformanceOptions = {},
): void {
  const { describe, test, expect } = api;
  let keysPromise: Promise<GpgTestKeys> | undefined;
  const keys = () => (keysPromise ??= createGpgTestKeys());
  const opened: SignatureMechanism[] = [];
  const track = <T extends SignatureMechanism>(m: T): T => {
    opened.push(m);
    return m;
  };
  const subject = async () => factory();
  const ephemeral = async (s: SignatureMechanismSubject, blobs: readonly Uint8Array[]) => {
    const r = await s.provider.newEphemeralMechanism(blobs);
    track(r.mechanism);
    return r;
  };
  const signer = async (s: SignatureMechanismSubject) => {
    const k = await keys();
    return track(
      await s.newSigningMechanism({
        homeDir: k.homeDir,
        secretKeys: [k.rsa, k.protected, k.subkey].map((x) => x.secretKey),
      }),
    );
  };

  api.afterAll?.(async () => {
    for (const m of opened.splice(0)) await m.close();
    if (keysPromise) await (await keysPromise).cleanup();
  });

  const t = (title: string, fn: () => Promise<void>) => test(title, fn, SUITE_TIMEOUT);

  describe(`SignatureMechanism conformance: ${name}`, () => {
    t("newEphemeralMechanism() returns the uppercase primary fingerprints of the keys, in order", async () => {
      const k = await keys();
      const s = await subject();
      const { keyIdentities } = await ephemeral(s, [k.rsa.publicKey, k.subkey.publicKey]);
      expect(keyIdentities).toEqual([k.rsa.fingerprint, k.subkey.fingerprint]);
      expect(keyIdentities.every((f) => /^[0-9A-F]{40}$/.test(f))).toBe(true);
    });

    t("newEphemeralMechanism() reads several keys from one blob and trusts none from an empty list", async () => {
      const k = await keys();
      const s = await subject();
      const both = new Uint8Array([...k.rsa.publicKey, ...k.protected.publicKey]);
      expect((await ephemeral(s, [both])).keyIdentities).toEqual([k.rsa.fingerprint, k.protected.fingerprint]);
      const none = await ephemeral(s, []);
      expect(none.keyIdentities).toEqual([]);
      const sig = await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint);
      await expect(none.mechanism.verify(sig)).rejects.toBeInstanceOf(SignatureInvalidError);
    });

    t("newEphemeralMechanism() of a blob that holds no key throws InvalidConfigurationError", async () => {
      const s = await subject();
      await expect(s.provider.newEphemeralMechanism([enc.encode("this is not a key")])).rejects.toBeInstanceOf(InvalidConfigurationError);
    });

    t("sign() makes a binary, non-detached signed message that gpg --verify accepts", async () => {
      const k = await keys();
      const m = await signer(await subject());
      const payload = enc.encode('{"critical":{},"optional":{}}');
      const sig = await m.sign(payload, k.rsa.fingerprint);
      expect((sig[0] ?? 0) & 0x80).toBe(0x80);
      const r = await k.gpgVerify(sig, [k.rsa.publicKey]);
      expect(r.status.some((l) => l.startsWith(`GOODSIG ${k.rsa.keyID}`))).toBe(true);
      expect(r.status.find((l) => l.startsWith("VALIDSIG "))?.split(" ").at(-1)).toBe(k.rsa.fingerprint);
      expect(dec.decode(r.stdout)).toBe(dec.decode(payload));
    });

    t("verify() of a gpg --sign signature returns the signed contents and the signer's fingerprint", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.rsa.publicKey]);
      const v = await mechanism.verify(await k.gpgSign(TEST_PAYLOAD, k.rsa.email));
      expect(v.keyIdentity).toBe(k.rsa.fingerprint);
      expect(dec.decode(v.contents)).toBe(dec.decode(TEST_PAYLOAD));
    });

    t("verify() of a signature made by a signing subkey reports the primary key fingerprint", async () => {
      const k = await keys();
      const s = await subject();
      const { mechanism } = await ephemeral(s, [k.subkey.publicKey]);
      const byGpg = await k.gpgSign(TEST_PAYLOAD, k.subkey.fingerprint);
      const r = await k.gpgVerify(byGpg, [k.subkey.publicKey]);
      expect(r.status.find((l) => l.startsWith("VALIDSIG "))?.split(" ")[1]).toBe(k.subkey.signingSubkeyFingerprint);
      expect((await mechanism.verify(byGpg)).keyIdentity).toBe(k.subkey.fingerprint);
      const bySubject = await (await signer(s)).sign(TEST_PAYLOAD, k.subkey.email);
      expect((await mechanism.verify(bySubject)).keyIdentity).toBe(k.subkey.fingerprint);
    });

    t("sign() then verify() with the signing mechanism and with an ephemeral one round-trips", async () => {
      const k = await keys();
      const s = await subject();
      const m = await signer(s);
      const sig = await m.sign(TEST_PAYLOAD, k.rsa.email);
      for (const v of [await m.verify(sig), await (await ephemeral(s, [k.rsa.publicKey])).mechanism.verify(sig)]) {
        expect(v.keyIdentity).toBe(k.rsa.fingerprint);
        expect(v.contents).toEqual(TEST_PAYLOAD);
      }
    });

    t("verify() rejects a signature whose signed data was modified, reporting a bad signature", async () => {
      const k = await keys();
      const s = await subject();
      const { mechanism } = await ephemeral(s, [k.rsa.publicKey]);
      const uncompressed = await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--compress-algo", "none"] });
      await expect(mechanism.verify(uncompressed)).resolves.toBeDefined();
      const bad = tamper(uncompressed, TEST_PAYLOAD.subarray(0, 16));
      await expect(mechanism.verify(bad)).rejects.toThrow(SignatureInvalidError);
      await expect(mechanism.verify(bad)).rejects.toThrow(/bad signature/);
      expect((await k.gpgVerify(bad, [k.rsa.publicKey])).status.some((l) => l.startsWith("BADSIG"))).toBe(true);
      const own = await (await signer(s)).sign(TEST_PAYLOAD, k.rsa.fingerprint);
      const ownBad = own.slice();
      ownBad[ownBad.length - 3] = (ownBad[ownBad.length - 3] ?? 0) ^ 0x01;
      await expect(mechanism.verify(ownBad)).rejects.toBeInstanceOf(SignatureInvalidError);
    });

    t("verify() rejects a signature by a key it does not trust, naming the key ID", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.rsa.publicKey]);
      const sig = await k.gpgSign(TEST_PAYLOAD, k.unknown.fingerprint, { homeDir: k.otherHomeDir });
      await expect(mechanism.verify(sig)).rejects.toThrow(SignatureInvalidError);
      await expect(mechanism.verify(sig)).rejects.toThrow(new RegExp(`unknown key ID ${k.unknown.keyID}`));
    });

    t("verify() rejects a signature by a key that has expired since it signed", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.expired.publicKey]);
      await expect(mechanism.verify(k.expiredKeySignature)).rejects.toThrow(SignatureInvalidError);
      await expect(mechanism.verify(k.expiredKeySignature)).rejects.toThrow(/has expired/);
    });

    t("verify() rejects a signature by a revoked key", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.revoked.publicKey]);
      await expect(mechanism.verify(k.revokedSignature)).rejects.toThrow(SignatureInvalidError);
      await expect(mechanism.verify(k.revokedSignature)).rejects.toThrow(/revoked/);
    });

    t("verify() rejects an expired signature", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.old.publicKey]);
      await expect(mechanism.verify(k.expiredSignature)).rejects.toThrow(SignatureInvalidError);
      await expect(mechanism.verify(k.expiredSignature)).rejects.toThrow(/signature .*expired/);
    });

    t("verify() rejects a message signed by two keys", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.rsa.publicKey, k.subkey.publicKey]);
      const two = await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--local-user", k.subkey.fingerprint] });
      await expect(mechanism.verify(two)).rejects.toThrow(/exactly one signature, found 2/);
    });

    t("verify() rejects SHA-1 signatures and RSA keys shorter than 2048 bits", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.rsa.publicKey, k.weak.publicKey]);
      const sha1 = await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--digest-algo", "SHA1"] });
      await expect(mechanism.verify(sha1)).rejects.toThrow(/weak hash algorithm SHA1/);
      const weak = await k.gpgSign(TEST_PAYLOAD, k.weak.fingerprint);
      await expect(mechanism.verify(weak)).rejects.toThrow(/too weak/);
    });

    t("verify() rejects unsigned, encrypted, armored, empty and garbage input with SignatureInvalidError", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.rsa.publicKey]);
      const literal = (await gpgOk(["--store"], { homeDir: k.homeDir, input: TEST_PAYLOAD })).stdout;
      const encrypted = (await gpgOk(["--symmetric"], { homeDir: k.homeDir, input: TEST_PAYLOAD, passphrase: "a symmetric secret" })).stdout;
      const armored = await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--armor"] });
      const inputs = [literal, encrypted, armored, new Uint8Array(), enc.encode("not a signature"), new Uint8Array([0xa3, 0x01, 0xff, 0xfe])];
      for (const input of inputs) await expect(mechanism.verify(input)).rejects.toBeInstanceOf(SignatureInvalidError);
    });

    t("sign() with a passphrase-protected key needs the right passphrase (UnauthorizedError otherwise)", async () => {
      const k = await keys();
      const s = await subject();
      const m = await signer(s);
      await expect(m.sign(TEST_PAYLOAD, k.protected.fingerprint, { passphrase: "wrong passphrase" })).rejects.toBeInstanceOf(UnauthorizedError);
      const sig = await m.sign(TEST_PAYLOAD, k.protected.fingerprint, { passphrase: k.protected.passphrase ?? "" });
      await expect(m.sign(TEST_PAYLOAD, k.protected.fingerprint, { passphrase: "wrong again" })).rejects.toBeInstanceOf(UnauthorizedError);
      const { mechanism } = await ephemeral(s, [k.protected.publicKey]);
      expect((await mechanism.verify(sig)).keyIdentity).toBe(k.protected.fingerprint);
    });

    t("sign() with an identity that has no secret key throws InvalidConfigurationError", async () => {
      const k = await keys();
      const m = await signer(await subject());
      await expect(m.sign(TEST_PAYLOAD, k.unknown.fingerprint)).rejects.toBeInstanceOf(InvalidConfigurationError);
      await expect(m.supportsSigning()).resolves.toBeUndefined();
    });

    t("an ephemeral mechanism cannot sign, not even with a key it trusts", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), [k.rsa.publicKey]);
      await expect(mechanism.sign(TEST_PAYLOAD, k.rsa.fingerprint)).rejects.toBeInstanceOf(InvalidConfigurationError);
    });

    t("untrustedSignatureContents() returns the contents and key ID of a signature by an unknown key, without verifying", async () => {
      const k = await keys();
      const { mechanism } = await ephemeral(await subject(), []);
      const sig = await k.gpgSign(TEST_PAYLOAD, k.unknown.fingerprint, { homeDir: k.otherHomeDir });
      const u = await mechanism.untrustedSignatureContents(sig);
      expect(u.contents).toEqual(TEST_PAYLOAD);
      expect(u.shortKeyIdentifier).toBe(k.unknown.keyID);
      const expired = await mechanism.untrustedSignatureContents(k.expiredKeySignature);
      expect(expired.shortKeyIdentifier).toBe(k.expired.keyID);
      await expect(mechanism.untrustedSignatureContents(enc.encode("garbage"))).rejects.toBeInstanceOf(SignatureInvalidError);
      const literal = (await gpgOk(["--store"], { homeDir: k.homeDir, input: TEST_PAYLOAD })).stdout;
      await expect(mechanism.untrustedSignatureContents(literal)).rejects.toBeInstanceOf(SignatureInvalidError);
    });

    for (const [peerName, peerFactory] of Object.entries(options.peers ?? {})) {
      t(`signatures made by ${name} verify with ${peerName}, and the other way round`, async () => {
        const k = await keys();
        const s = await subject();
        const p = await peerFactory();
        for (const [from, to] of [
          [s, p],
          [p, s],
        ] as const) {
          const sig = await (await signer(from)).sign(TEST_PAYLOAD, k.subkey.fingerprint);
          const v = await (await ephemeral(to, [k.subkey.publicKey])).mechanism.verify(sig);
          expect(v.keyIdentity).toBe(k.subkey.fingerprint);
          expect(v.contents).toEqual(TEST_PAYLOAD);
        }
      });

      t(`${name} and ${peerName} reach the same verdict on every input of a corpus`, async () => {
        const k = await keys();
        const s = await subject();
        const p = await peerFactory();
        const trusted = [k.rsa, k.subkey, k.expired, k.revoked, k.old, k.weak, k.protected].map((x) => x.publicKey);
        const corpus: Uint8Array[] = [
          await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint),
          await k.gpgSign(TEST_PAYLOAD, k.subkey.fingerprint),
          await k.gpgSign(TEST_PAYLOAD, k.unknown.fingerprint, { homeDir: k.otherHomeDir }),
          await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--digest-algo", "SHA1"] }),
          await k.gpgSign(TEST_PAYLOAD, k.weak.fingerprint),
          await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--local-user", k.subkey.fingerprint] }),
          tamper(await k.gpgSign(TEST_PAYLOAD, k.rsa.fingerprint, { extraArgs: ["--compress-algo", "none"] }), TEST_PAYLOAD.subarray(0, 16)),
          k.expiredKeySignature,
          k.revokedSignature,
          k.expiredSignature,
          await (await signer(s)).sign(TEST_PAYLOAD, k.protected.fingerprint, { passphrase: k.protected.passphrase ?? "" }),
          await (await signer(p)).sign(TEST_PAYLOAD, k.rsa.fingerprint),
          enc.encode("garbage"),
        ];
        const ms = (await ephemeral(s, trusted)).mechanism;
        const mp = (await ephemeral(p, trusted)).mechanism;
        const verdicts: Array<[Outcome, Outcome]> = [];
        for (const sig of corpus) verdicts.push([await outcome(ms, sig), await outcome(mp, sig)]);
        for (const [a, b] of verdicts) expect(a).toEqual(b);
        expect(verdicts.map(([a]) => a.ok)).toEqual([true, true, false, false, false, false, false, false, false, false, true, true, false]);
      });
    }
  });
}
