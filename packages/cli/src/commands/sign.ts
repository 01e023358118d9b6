import { readFile, writeFile } from "node:fs/promises";
import { manifestDigest } from "@stevedore/manifest";
import type { SignatureMechanism } from "@stevedore/types";
import { UsageError, type OptionSpec } from "../args.js";
import type { Command, CommandContext } from "../command.js";
import { readSecretFile } from "../flags.js";

const outputOption: OptionSpec = { name: "output", short: "o", type: "string", arg: "FORMAT", help: "json: print the result as JSON" };

function jsonOutput(ctx: CommandContext): boolean {
  const o = ctx.values.output;
  if (o === undefined) return false;
  if (o !== "json") throw new UsageError(`--output "${String(o)}": expected json`);
  return true;
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new UsageError(`cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

export const manifestDigestCommand: Command = {
  name: "manifest-digest",
  summary: "print the digest of a manifest file",
  usage: "stevedore manifest-digest MANIFEST-FILE",
  description: "The digest registries give the manifest (for signed schema 1: of its payload without signatures).",
  options: [outputOption],
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError("manifest-digest needs exactly one argument: MANIFEST-FILE");
    const digest = manifestDigest(await readInput(ctx.positionals[0]!, "manifest"));
    ctx.io.stdout(jsonOutput(ctx) ? JSON.stringify({ Digest: digest }) + "\n" : digest + "\n");
    return 0;
  },
};

async function signingMechanism(ctx: CommandContext, keyFile: string | undefined): Promise<SignatureMechanism> {
  if (keyFile !== undefined) {
    const { openpgpMechanismProvider } = await import("@stevedore/signature-openpgp");
    return openpgpMechanismProvider.newMechanism({ keys: [await readInput(keyFile, "key file")] });
  }
  const { gpgMechanismProvider } = await import("@stevedore/signature-gpg");
  return gpgMechanismProvider.newMechanism(ctx.io.env.GNUPGHOME ? { homeDir: ctx.io.env.GNUPGHOME } : {});
}

export const standaloneSignCommand: Command = {
  name: "standalone-sign",
  summary: "sign a manifest file (simple signing) without an image",
  usage: "stevedore standalone-sign [flags] MANIFEST DOCKER-REFERENCE KEY-ID --output SIGNATURE",
  description: "Uses the gpg keyring (GNUPGHOME), or the OpenPGP private key in --key-file with openpgp.js.",
  options: [
    { name: "output", short: "o", type: "string", arg: "PATH", help: "write the signature to PATH (required)" },
    { name: "passphrase-file", type: "string", arg: "PATH", help: "read the key's passphrase from the first line of PATH" },
    { name: "key-file", type: "string", arg: "PATH", help: "sign with the private key in PATH instead of the gpg keyring" },
  ],
  async run(ctx) {
    const v = ctx.values;
    if (ctx.positionals.length !== 3) throw new UsageError("standalone-sign needs MANIFEST DOCKER-REFERENCE KEY-ID");
    const output = typeof v.output === "string" ? v.output : undefined;
    if (!output) throw new UsageError("standalone-sign needs --output");
    const [manifestPath, reference, keyId] = ctx.positionals as [string, string, string];
    const manifest = await readInput(manifestPath, "manifest");
    const passphrase = typeof v["passphrase-file"] === "string" ? readSecretFile(v["passphrase-file"], "--passphrase-file") : undefined;
    const { signDockerManifest } = await import("@stevedore/signature-simple");
    const mech = await signingMechanism(ctx, typeof v["key-file"] === "string" ? v["key-file"] : undefined);
    try {
      const sig = await signDockerManifest(manifest, reference, mech, keyId, { ...(passphrase !== undefined ? { passphrase } : {}), signal: ctx.io.signal });
      await writeFile(output, sig);
    } finally {
      await mech.close();
    }
    return 0;
  },
};

export const standaloneVerifyCommand: Command = {
  name: "standalone-verify",
  summary: "verify a simple-signing signature of a manifest file",
  usage: "stevedore standalone-verify [flags] MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT[,...] SIGNATURE",
  description: [
    "Verifies with the gpg keyring (GNUPGHOME), or only against the public keys in --public-key-file",
    "(openpgp.js). KEY-FINGERPRINT may list several fingerprints separated by commas.",
  ].join("\n"),
  options: [{ name: "public-key-file", type: "list", arg: "PATH", help: "trust only the public keys in PATH (repeatable)" }, outputOption],
  async run(ctx) {
    if (ctx.positionals.length !== 4) throw new UsageError("standalone-verify needs MANIFEST DOCKER-REFERENCE KEY-FINGERPRINT SIGNATURE");
    const [manifestPath, reference, fingerprints, sigPath] = ctx.positionals as [string, string, string, string];
    const manifest = await readInput(manifestPath, "manifest");
    const signature = await readInput(sigPath, "signature");
    const keyFiles = (ctx.values["public-key-file"] as string[] | undefined) ?? [];
    let mech: SignatureMechanism;
    if (keyFiles.length > 0) {
      const { openpgpMechanismProvider } = await import("@stevedore/signature-openpgp");
      mech = (await openpgpMechanismProvider.newEphemeralMechanism(await Promise.all(keyFiles.map((f) => readInput(f, "public key file"))))).mechanism;
    } else {
      const { gpgMechanismProvider } = await import("@stevedore/signature-gpg");
      mech = await gpgMechanismProvider.newMechanism(ctx.io.env.GNUPGHOME ? { homeDir: ctx.io.env.GNUPGHOME } : {});
    }
    try {
      const { verifyDockerManifestSignature } = await import("@stevedore/signature-simple");
      const r = await verifyDockerManifestSignature(signature, manifest, reference, mech, fingerprints.split(","), { signal: ctx.io.signal });
      ctx.io.stdout(
        jsonOutput(ctx)
          ? JSON.stringify({ Fingerprint: r.keyIdentity, Digest: r.dockerManifestDigest, DockerReference: r.dockerReference }) + "\n"
          : `Signature verified using fingerprint ${r.keyIdentity}, digest ${r.dockerManifestDigest}\n`,
      );
    } finally {
      await mech.close();
    }
    return 0;
  },
};

export const generateSigstoreKeyCommand: Command = {
  name: "generate-sigstore-key",
  summary: "generate a sigstore (cosign) key pair for signing",
  usage: "stevedore generate-sigstore-key --output-prefix PREFIX [--passphrase-file PATH]",
  description: [
    "Writes PREFIX.private (an encrypted ECDSA P-256 key in cosign's format, mode 0600) and PREFIX.pub",
    "(the public key, for keyPath in a sigstoreSigned policy). The passphrase is read from --passphrase-file.",
  ].join("\n"),
  options: [
    { name: "output-prefix", type: "string", arg: "PREFIX", help: "write PREFIX.private and PREFIX.pub (required)" },
    { name: "passphrase-file", type: "string", arg: "PATH", help: "read the passphrase from the first line of PATH (required)" },
  ],
  async run(ctx) {
    const v = ctx.values;
    if (ctx.positionals.length !== 0) throw new UsageError("generate-sigstore-key takes no arguments");
    const prefix = typeof v["output-prefix"] === "string" ? v["output-prefix"] : undefined;
    if (!prefix) throw new UsageError("generate-sigstore-key needs --output-prefix");
    const passFile = typeof v["passphrase-file"] === "string" ? v["passphrase-file"] : undefined;
    if (!passFile) throw new UsageError("generate-sigstore-key needs --passphrase-file");
    const passphrase = readSecretFile(passFile, "--passphrase-file");
    const { existsSync } = await import("node:fs");
    for (const f of [`${prefix}.private`, `${prefix}.pub`]) if (existsSync(f)) throw new UsageError(`${f} already exists; refusing to overwrite it`);
    const { generateSigstoreKeyPair } = await import("@stevedore/signature-sigstore");
    const pair = await generateSigstoreKeyPair(passphrase, { signal: ctx.io.signal });
    await writeFile(`${prefix}.private`, pair.privateKeyPem, { mode: 0o600, flag: "wx" });
    await writeFile(`${prefix}.pub`, pair.publicKeyPem, { mode: 0o644, flag: "wx" });
    ctx.io.stdout(`Key written to "${prefix}.private" and "${prefix}.pub"\n`);
    return 0;
  },
};
