import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  InvalidConfigurationError,
  SignatureInvalidError,
  SizeLimits,
  UnauthorizedError,
  UnsupportedError,
  throwIfAborted,
  type SignatureMechanism,
  type SignOptions,
  type VerifiedSignature,
} from "@stevedore/types";
import { GpgError, gpgErrorCode, runGpg, type GpgResult, type StatusLine } from "./internal/run.js";

/** gpg-error codes seen in status lines. */
const GPG_ERR_BAD_PASSPHRASE = 11;
const GPG_ERR_NO_PUBKEY = 9;
const GPG_ERR_PUBKEY_ALGO = 4;
const GPG_ERR_DIGEST_ALGO = 5;

/** Hash algorithms refused for message signatures (openpgp.js refuses the same ones). */
const WEAK_HASHES: Readonly<Record<string, string>> = { "1": "MD5", "2": "SHA1", "3": "RIPEMD160" };
/** Public-key algorithms refused (openpgp.js refuses the same ones). */
const WEAK_PUBKEY_ALGOS: Readonly<Record<string, string>> = { "16": "ElGamal", "17": "DSA", "20": "ElGamal" };
const RSA_ALGOS = new Set(["1", "2", "3"]);
const MIN_RSA_BITS = 2047;

const VERDICTS = new Set(["GOODSIG", "BADSIG", "ERRSIG", "EXPSIG", "EXPKEYSIG", "REVKEYSIG"]);

/** Checks the cheap, format-level properties every mechanism refuses the same way. */
function checkSignatureBytes(sig: Uint8Array): void {
  if (sig.length === 0) throw new SignatureInvalidError("invalid signature: the data is empty");
  if (sig.length > SizeLimits.signature) {
    throw new SignatureInvalidError(`invalid signature: ${sig.length} bytes is more than the limit of ${SizeLimits.signature}`);
  }
  if (((sig[0] ?? 0) & 0x80) === 0) {
    throw new SignatureInvalidError("invalid signature: not a binary OpenPGP message (ASCII armor and clear-signed text are not accepted)");
  }
}

function find(status: readonly StatusLine[], keyword: string): StatusLine | undefined {
  return status.find((s) => s.keyword === keyword);
}

function lastLine(stderr: string): string {
  const lines = stderr.split("\n").filter((l) => l.trim() !== "" && !/^gpg: WARNING: (unsafe|running with faked)/.test(l));
  return lines.at(-1)?.replace(/^gpg: /, "") ?? "";
}

/** Why a message without any signature verdict was refused. */
function noVerdictReason(r: GpgResult): string {
  if (find(r.status, "UNEXPECTED") || r.status.some((s) => s.keyword.startsWith("ENC_TO") || s.keyword === "BEGIN_DECRYPTION")) {
    return "invalid signature: the OpenPGP message is not a signed message (it is encrypted or holds unexpected packets)";
  }
  if (find(r.status, "PLAINTEXT")) return "invalid signature: the OpenPGP message is not signed";
  const why = lastLine(r.stderr);
  return `invalid signature: not valid OpenPGP data${why ? ` (${why})` : ""}`;
}

/** Options of {@link GpgMechanism}. */
export interface GpgMechanismOptions {
  /** The GnuPG home (`--homedir`); default gpg's own choice: GNUPGHOME, else ~/.gnupg. */
  homeDir?: string;
  /** The gpg binary; default `gpg` on PATH. */
  gpgPath?: string;
  /** A temporary home this mechanism made and removes on close(). */
  ephemeralHome?: boolean;
}

/**
 * A {@link SignatureMechanism} that runs the system's `gpg` (GnuPG 2.2+),
 * so keys in the user's keyring, gpg-agent and smartcards work. Every call is
 * one gpg process, started without a shell, with `--batch --no-tty` and
 * `--status-fd`; the verdict comes from the status lines, never from the
 * exit code alone. Made by {@link gpgMechanismProvider}.
 */
export class GpgMechanism implements SignatureMechanism {
  readonly #homeDir: string | undefined;
  readonly #gpgPath: string | undefined;
  readonly #ephemeralHome: boolean;
  #closed = false;

  /** Use {@link gpgMechanismProvider} instead of constructing one directly. */
  constructor(options: GpgMechanismOptions = {}) {
    this.#homeDir = options.homeDir;
    this.#gpgPath = options.gpgPath;
    this.#ephemeralHome = options.ephemeralHome ?? false;
  }

  /** The GnuPG home this mechanism uses, if one was set. */
  get homeDir(): string | undefined {
    return this.#homeDir;
  }

  #checkOpen(): void {
    if (this.#closed) throw new UnsupportedError("this gpg signature mechanism has been closed");
  }

  #run(
    args: readonly string[],
    options: { input?: Uint8Array; passphrase?: string; signal?: AbortSignal; homeDir?: string; stdoutLimit?: number },
  ): Promise<GpgResult> {
    const homeDir = options.homeDir ?? this.#homeDir;
    return runGpg(args, {
      ...options,
      ...(homeDir !== undefined ? { homeDir } : {}),
      ...(this.#gpgPath !== undefined ? { gpgPath: this.#gpgPath } : {}),
    });
  }

  /** Resolves when gpg can be run (signing needs a secret key in the home, checked by sign()); throws MissingToolError without gpg. */
  async supportsSigning(): Promise<void> {
    this.#checkOpen();
    const r = await this.#run(["--version"], {});
    if (r.exitCode !== 0) throw new GpgError(`gpg --version failed: ${lastLine(r.stderr)}`);
  }

  /**
   * Signs `input` with `gpg --sign --local-user keyIdentity` (binary, not
   * detached). With a passphrase, gpg reads it through `--pinentry-mode
   * loopback --passphrase-fd`; without one, gpg-agent asks its pinentry as
   * usual. A wrong passphrase throws UnauthorizedError, an identity without a
   * secret key InvalidConfigurationError. Note: gpg-agent may use a cached
   * passphrase instead of the one given (see `ignore-cache-for-signing`).
   */
  async sign(input: Uint8Array, keyIdentity: string, options: SignOptions = {}): Promise<Uint8Array> {
    this.#checkOpen();
    throwIfAborted(options.signal);
    const passphrase = options.passphrase === "" ? undefined : options.passphrase;
    if (passphrase !== undefined && /[\r\n]/.test(passphrase)) {
      throw new UnauthorizedError("invalid passphrase: it must not contain a line break");
    }
    if (keyIdentity.trim() === "" || /[\0\r\n]/.test(keyIdentity)) {
      throw new InvalidConfigurationError(`invalid signing identity ${JSON.stringify(keyIdentity)}`);
    }
    const r = await this.#run(["--no-armor", "--no-textmode", "--local-user", keyIdentity, "--sign"], {
      input,
      ...(passphrase !== undefined ? { passphrase } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (find(r.status, "SIG_CREATED") && r.exitCode === 0 && r.stdout.length > 0) return r.stdout;
    const invSigner = find(r.status, "INV_SGNR");
    if (invSigner) {
      throw new InvalidConfigurationError(`no usable secret key for signing identity "${keyIdentity}" in ${this.#where()} (gpg: ${lastLine(r.stderr) || "unusable secret key"})`);
    }
    const failure = r.status.find((s) => s.keyword === "FAILURE" || s.keyword === "ERROR");
    const code = gpgErrorCode(failure?.args[1]);
    const needed = find(r.status, "NEED_PASSPHRASE") ?? find(r.status, "PINENTRY_LAUNCHED");
    if (code === GPG_ERR_BAD_PASSPHRASE || find(r.status, "BAD_PASSPHRASE")) {
      throw new UnauthorizedError(`cannot unlock the secret key for "${keyIdentity}": wrong passphrase`);
    }
    if (needed && passphrase === undefined) {
      throw new UnauthorizedError(
        `the secret key for "${keyIdentity}" is protected by a passphrase, and none was given (gpg-agent's pinentry failed: ${lastLine(r.stderr)})`,
      );
    }
    throw new GpgError(`gpg could not sign as "${keyIdentity}": ${lastLine(r.stderr) || `exit status ${r.exitCode}`}`);
  }

  #where(): string {
    return this.#homeDir !== undefined ? `the GnuPG home ${this.#homeDir}` : "the default GnuPG home";
  }

  /**
   * Verifies a signed message with the keys in the home and returns the
   * signed contents and the primary key fingerprint of the signer (gpg's
   * VALIDSIG primary-key field, also when a subkey signed). Rejects with
   * SignatureInvalidError and the reason: not one signed binary OpenPGP
   * message, a signature count other than one, an unknown key (NO_PUBKEY),
   * a bad signature (BADSIG), an expired (EXPKEYSIG) or revoked (REVKEYSIG)
   * key, an expired signature (EXPSIG), and weak algorithms.
   */
  async verify(unverifiedSignature: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<VerifiedSignature> {
    this.#checkOpen();
    throwIfAborted(options.signal);
    checkSignatureBytes(unverifiedSignature);
    const r = await this.#run(
      ["--trust-model", "always", "--no-auto-key-retrieve", "--output", "-", "--verify"],
      { input: unverifiedSignature, stdoutLimit: SizeLimits.signature, ...(options.signal ? { signal: options.signal } : {}) },
    );
    const verdicts = r.status.filter((s) => VERDICTS.has(s.keyword));
    if (verdicts.length === 0) throw new SignatureInvalidError(noVerdictReason(r));
    if (verdicts.length !== 1) throw new SignatureInvalidError(`invalid signature: expected exactly one signature, found ${verdicts.length}`);
    const verdict = verdicts[0] as StatusLine;
    const keyID = verdict.args[0] ?? "?";
    const valid = find(r.status, "VALIDSIG");
    const fpr = valid?.args[9] ?? valid?.args[0] ?? keyID;
    switch (verdict.keyword) {
      case "GOODSIG":
        break;
      case "BADSIG":
        throw new SignatureInvalidError(`invalid signature: bad signature by key ID ${keyID} (the signed data or the signature was modified)`);
      case "EXPKEYSIG":
        throw new SignatureInvalidError(`invalid signature: the key ${fpr} (key ID ${keyID}) has expired`);
      case "REVKEYSIG":
        throw new SignatureInvalidError(`invalid signature: the key ${fpr} (key ID ${keyID}) has been revoked`);
      case "EXPSIG": {
        const at = Number(valid?.args[3] ?? "0");
        const when = at > 0 ? ` at ${new Date(at * 1000).toISOString()}` : "";
        throw new SignatureInvalidError(`invalid signature: the signature by key ${fpr} expired${when}`);
      }
      case "ERRSIG": {
        const rc = Number(verdict.args[5]);
        if (rc === GPG_ERR_NO_PUBKEY) {
          throw new SignatureInvalidError(`invalid signature: signed by unknown key ID ${keyID} (no trusted public key has that ID)`);
        }
        if (rc === GPG_ERR_PUBKEY_ALGO || rc === GPG_ERR_DIGEST_ALGO) {
          throw new SignatureInvalidError(`invalid signature: made with an algorithm gpg does not support (key ID ${keyID})`);
        }
        throw new SignatureInvalidError(`invalid signature: the signature by key ID ${keyID} cannot be checked: ${lastLine(r.stderr) || `gpg error ${rc}`}`);
      }
    }
    if (!valid || r.exitCode !== 0) {
      throw new SignatureInvalidError(`invalid signature: gpg did not confirm the signature by key ID ${keyID}: ${lastLine(r.stderr) || `exit status ${r.exitCode}`}`);
    }
    const [signingFpr = "", , , , , , pubkeyAlgo = "", hashAlgo = ""] = valid.args;
    const weakHash = WEAK_HASHES[hashAlgo];
    if (weakHash) throw new SignatureInvalidError(`invalid signature: made with the weak hash algorithm ${weakHash}`);
    const weakAlgo = WEAK_PUBKEY_ALGOS[pubkeyAlgo];
    if (weakAlgo) {
      throw new SignatureInvalidError(`invalid signature: the key ${fpr} (key ID ${keyID}) cannot be used to verify it: ${weakAlgo} keys are considered too weak`);
    }
    await this.#checkRsaKeySizes(fpr, signingFpr, keyID, options.signal);
    const expires = Number(valid.args[3] ?? "0");
    if (expires > 0 && expires * 1000 <= Date.now()) {
      throw new SignatureInvalidError(`invalid signature: the signature by key ${fpr} expired at ${new Date(expires * 1000).toISOString()}`);
    }
    return { contents: r.stdout, keyIdentity: fpr.toUpperCase() };
  }

  /** Refuses RSA keys (primary or signing subkey) shorter than 2048 bits, as openpgp.js does. */
  async #checkRsaKeySizes(primaryFpr: string, signingFpr: string, keyID: string, signal: AbortSignal | undefined): Promise<void> {
    const r = await this.#run(["--with-colons", "--fixed-list-mode", "--list-keys", primaryFpr], signal ? { signal } : {});
    if (r.exitCode !== 0) return; // the key was just used by gpg; listing cannot fail in a way that matters here
    const lines = new TextDecoder().decode(r.stdout).split("\n").map((l) => l.split(":"));
    for (let i = 0; i < lines.length; i++) {
      const rec = lines[i] ?? [];
      if (rec[0] !== "pub" && rec[0] !== "sub") continue;
      const next = lines[i + 1] ?? [];
      const thisFpr = next[0] === "fpr" ? next[9] : undefined;
      if (thisFpr !== primaryFpr && thisFpr !== signingFpr) continue;
      const bits = Number(rec[2]);
      if (RSA_ALGOS.has(rec[3] ?? "") && bits < MIN_RSA_BITS) {
        throw new SignatureInvalidError(
          `invalid signature: the key ${primaryFpr} (key ID ${keyID}) cannot be used to verify it: RSA keys shorter than 2048 bits are considered too weak`,
        );
      }
    }
  }

  /**
   * The contents and the signing key ID (16 uppercase hex digits) of a signed
   * message, WITHOUT verifying anything: gpg reads it in an empty temporary
   * home. Never base a decision on the result.
   */
  async untrustedSignatureContents(untrustedSignature: Uint8Array): Promise<{ contents: Uint8Array; shortKeyIdentifier: string }> {
    this.#checkOpen();
    checkSignatureBytes(untrustedSignature);
    const empty = await mkdtemp(join(tmpdir(), "stevedore-gpg-untrusted-"));
    try {
      const r = await this.#run(["--trust-model", "always", "--no-auto-key-retrieve", "--output", "-", "--verify"], {
        homeDir: empty,
        input: untrustedSignature,
        stdoutLimit: SizeLimits.signature,
      });
      const verdicts = r.status.filter((s) => VERDICTS.has(s.keyword));
      const first = verdicts[0];
      if (!first || !find(r.status, "PLAINTEXT")) throw new SignatureInvalidError(noVerdictReason(r));
      return { contents: r.stdout, shortKeyIdentifier: (first.args[0] ?? "").toUpperCase() };
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  }

  /** Imports the public keys in `blob` (ephemeral homes only); returns their primary fingerprints. */
  async importKeys(blob: Uint8Array, what: string): Promise<string[]> {
    this.#checkOpen();
    if (!this.#ephemeralHome) throw new UnsupportedError("importing keys is only supported into an ephemeral gpg home");
    if (blob.length === 0) return [];
    const r = await this.#run(["--import"], { input: blob });
    const fprs: string[] = [];
    for (const s of r.status) {
      if (s.keyword !== "IMPORT_OK") continue;
      const fpr = (s.args[1] ?? "").toUpperCase();
      if (fpr && !fprs.includes(fpr)) fprs.push(fpr);
    }
    if (fprs.length === 0) {
      const why = /no valid OpenPGP data found/.test(r.stderr) ? "no valid OpenPGP data found" : "gpg imported no key";
      throw new InvalidConfigurationError(`${what} does not contain OpenPGP keys: ${why}`);
    }
    return fprs;
  }

  /** Removes the temporary home of an ephemeral mechanism (stopping a gpg-agent started in it); a no-op otherwise. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#ephemeralHome || this.#homeDir === undefined) return;
    await stopAgent(this.#homeDir, this.#gpgPath);
    await rm(this.#homeDir, { recursive: true, force: true });
  }
}

/** Stops a gpg-agent running for `homeDir`, if its socket exists. */
export async function stopAgent(homeDir: string, gpgPath?: string): Promise<void> {
  const exists = await stat(join(homeDir, "S.gpg-agent")).then(
    () => true,
    () => false,
  );
  if (!exists) return;
  // `gpg-connect-agent` is part of gnupg; KILLAGENT stops the agent of that home.
  const { spawn } = await import("node:child_process");
  const connect = gpgPath ? join(gpgPath, "..", "gpg-connect-agent") : "gpg-connect-agent";
  await new Promise<void>((resolve) => {
    const c = spawn(connect, ["--homedir", homeDir, "--no-autostart", "KILLAGENT", "/bye"], { stdio: "ignore" });
    c.on("error", () => resolve());
    c.on("close", () => resolve());
  });
}
