import { writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import type { CopyOptions, ImageListSelection, Signer } from "@stevedore/copy";
import {
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from "@stevedore/manifest";
import { parseNormalizedNamed } from "@stevedore/reference";
import type { CompressionAlgorithmName, Platform, SignatureMechanism } from "@stevedore/types";
import { parseDigest } from "@stevedore/types";
import { UsageError, type ParsedValues } from "../args.js";
import type { Command, CommandContext } from "../command.js";
import { commonOptions, contextFromFlags, readSecretFile, sideOptions } from "../flags.js";
import { PROGRESS_MODES, createProgressPrinter, type ProgressMode } from "../progress.js";
import { loadPolicyContext, openBlobInfoCache, parseImage } from "../runtime.js";

/** `--format` names, as skopeo's. */
export const MANIFEST_FORMATS: Readonly<Record<string, string>> = {
  oci: OCI_MANIFEST_MEDIA_TYPE,
  v2s2: DOCKER_SCHEMA2_MEDIA_TYPE,
  v2s1: DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
};

function str(v: ParsedValues, n: string): string | undefined {
  return typeof v[n] === "string" ? (v[n] as string) : undefined;
}

function list(v: ParsedValues, n: string): string[] {
  return (v[n] as string[] | undefined) ?? [];
}

function parsePlatform(s: string): Platform {
  const [os, architecture, variant, ...rest] = s.split("/");
  if (!os || !architecture || rest.length > 0) throw new UsageError(`--platform "${s}": expected OS/ARCH[/VARIANT], e.g. linux/arm64`);
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** Reads the list selection flags (`--all`, `--multi-arch`, `--platform`, `--instance`). */
function selection(v: ParsedValues): Pick<CopyOptions, "imageListSelection" | "instances" | "instancePlatforms"> {
  const all = v.all === true;
  const multi = str(v, "multi-arch");
  const platforms = list(v, "platform").map(parsePlatform);
  const instances = list(v, "instance").map((d) => parseDigest(d));
  const chosen = [all, multi !== undefined, platforms.length > 0 || instances.length > 0].filter(Boolean).length;
  if (chosen > 1) throw new UsageError("use only one of --all, --multi-arch and --platform/--instance");
  if (all) return { imageListSelection: "all" };
  if (platforms.length || instances.length) return { imageListSelection: "specific", instances, instancePlatforms: platforms };
  if (multi === undefined) return {};
  const map: Record<string, ImageListSelection> = { system: "system", all: "all", "index-only": "index-only" };
  const sel = map[multi];
  if (!sel) throw new UsageError(`--multi-arch "${multi}": expected system, all or index-only`);
  return { imageListSelection: sel };
}

async function signers(ctx: CommandContext, v: ParsedValues, cleanups: (() => Promise<void>)[]): Promise<Signer[]> {
  const keyId = str(v, "sign-by");
  const keyFile = str(v, "sign-by-key-file");
  const sigstoreKey = str(v, "sign-by-sigstore-private-key");
  const passFile = str(v, "sign-passphrase-file");
  const passphrase = passFile !== undefined ? readSecretFile(passFile, "--sign-passphrase-file") : undefined;
  const out: Signer[] = [];
  if (keyId !== undefined || keyFile !== undefined) {
    const { signDockerManifest } = await import("@stevedore/signature-simple");
    let mechanism: SignatureMechanism;
    let description: string;
    if (keyFile !== undefined) {
      const { openpgpMechanismProvider } = await import("@stevedore/signature-openpgp");
      mechanism = await openpgpMechanismProvider.newMechanism({ keys: [new Uint8Array(await readFile(keyFile))] });
      description = `the key in ${keyFile}`;
    } else {
      const { gpgMechanismProvider } = await import("@stevedore/signature-gpg");
      mechanism = await gpgMechanismProvider.newMechanism(ctx.io.env.GNUPGHOME ? { homeDir: ctx.io.env.GNUPGHOME } : {});
      description = `GPG key ${keyId}`;
    }
    cleanups.push(() => mechanism.close());
    await mechanism.supportsSigning();
    out.push({
      description,
      async sign(manifest, identity, o) {
        const sig = await signDockerManifest(manifest, identity, mechanism, keyId ?? "", {
          ...(passphrase !== undefined ? { passphrase } : {}),
          ...(o?.signal ? { signal: o.signal } : {}),
        });
        return { format: "simple-signing", untrustedSignature: sig };
      },
    });
  }
  if (sigstoreKey !== undefined) {
    if (passphrase === undefined) throw new UsageError("--sign-by-sigstore-private-key needs --sign-passphrase-file");
    const { createSigstoreSigner } = await import("@stevedore/signature-sigstore");
    out.push(await createSigstoreSigner(new Uint8Array(await readFile(sigstoreKey)), passphrase, { what: sigstoreKey, signal: ctx.io.signal }));
  }
  return out;
}

export const copyCommand: Command = {
  name: "copy",
  summary: "copy an image from one location to another",
  usage: "stevedore copy [flags] SOURCE-IMAGE DESTINATION-IMAGE",
  description: [
    "Copies SOURCE-IMAGE to DESTINATION-IMAGE, checking the trust policy first, reusing layers the",
    "destination already has, verifying every digest, and converting the manifest when the destination",
    "needs another format. Images are TRANSPORT:REFERENCE, e.g. docker://quay.io/org/app:1.0,",
    "oci:./layout:tag, dir:./image, docker-archive:./image.tar:name:tag, oci-archive:./image.tar.",
    "",
    "Examples:",
    "  stevedore copy docker://registry.example/app:1.0 oci:./app:1.0",
    "  stevedore copy --all --dest-compress-format zstd oci:./app:1.0 docker://registry.example/app:1.0",
  ].join("\n"),
  options: [
    { name: "all", short: "a", type: "boolean", help: "copy every image of a manifest list, and the list" },
    { name: "multi-arch", type: "string", arg: "MODE", help: "for lists: system (default, one image for this machine), all, or index-only" },
    { name: "platform", type: "list", arg: "OS/ARCH[/VARIANT]", help: "for lists: copy the images of this platform, and the list (repeatable)" },
    { name: "instance", type: "list", arg: "DIGEST", help: "for lists: copy this instance, and the list (repeatable)" },
    { name: "format", short: "f", type: "string", arg: "FORMAT", help: "manifest type of the destination: oci, v2s2 or v2s1" },
    { name: "preserve-digests", type: "boolean", help: "fail rather than change any digest (no conversion or recompression)" },
    { name: "remove-signatures", type: "boolean", help: "do not copy the source's signatures" },
    { name: "sign-by", type: "string", arg: "KEYID", help: "sign the image with this GPG key (the gpg keyring), or select it in --sign-by-key-file" },
    { name: "sign-by-key-file", type: "string", arg: "PATH", help: "sign with the OpenPGP private key in PATH (openpgp.js, no gpg needed)" },
    { name: "sign-passphrase-file", type: "string", arg: "PATH", help: "read the signing key's passphrase from the first line of PATH" },
    { name: "sign-identity", type: "string", arg: "REFERENCE", help: "sign for this docker reference instead of the destination's" },
    { name: "sign-by-sigstore-private-key", type: "string", arg: "PATH", help: "sign with a sigstore (cosign) private key (see generate-sigstore-key)" },
    { name: "dest-compress", type: "boolean", help: "compress layers written to the destination (dir:)" },
    { name: "dest-decompress", type: "boolean", help: "decompress layers written to the destination (dir:)" },
    { name: "dest-compress-format", type: "string", arg: "FORMAT", help: "compression for the destination's layers: gzip or zstd" },
    { name: "dest-compress-level", type: "string", arg: "N", help: "compression level" },
    { name: "dest-oci-accept-uncompressed-layers", type: "boolean", help: "allow uncompressed layers in an OCI destination" },
    { name: "additional-tag", type: "list", arg: "NAME:TAG", help: "extra tags for docker-archive destinations (repeatable)" },
    { name: "digestfile", type: "string", arg: "PATH", help: "write the digest of the written manifest to PATH" },
    { name: "quiet", short: "q", type: "boolean", help: "print nothing but errors" },
    { name: "progress", type: "string", arg: "MODE", help: "progress on stderr: auto (default: tty on a terminal, else plain), tty (bars), plain (a line every 5s), json (NDJSON events), none" },
    { name: "output", short: "o", type: "string", arg: "FORMAT", help: "json: print the written manifest's digest and type as JSON on stdout (messages go to stderr)" },
    { name: "parallel", type: "string", arg: "N", help: "blobs to copy at once (default 6)" },
    ...sideOptions("src-", "source"),
    ...sideOptions("dest-", "destination"),
    ...commonOptions,
  ],
  async run(ctx) {
    const v = ctx.values;
    if (ctx.positionals.length !== 2) throw new UsageError("copy needs exactly two arguments: SOURCE-IMAGE DESTINATION-IMAGE");
    const [srcName, destName] = ctx.positionals as [string, string];
    const srcCtx = contextFromFlags(ctx, "src-");
    const destCtx = contextFromFlags(ctx, "dest-");
    if (v["dest-compress"] === true && v["dest-decompress"] === true) throw new UsageError("--dest-compress and --dest-decompress cannot be used together");
    if (v["dest-compress"] === true) destCtx.dirForceCompress = true;
    if (v["dest-decompress"] === true) destCtx.dirForceDecompress = true;
    if (v["dest-oci-accept-uncompressed-layers"] === true) destCtx.ociAcceptUncompressedLayers = true;
    const fmt = str(v, "dest-compress-format");
    if (fmt !== undefined) {
      if (fmt !== "gzip" && fmt !== "zstd") throw new UsageError(`--dest-compress-format "${fmt}": expected gzip or zstd`);
      destCtx.compressionFormat = fmt as CompressionAlgorithmName;
    }
    const level = str(v, "dest-compress-level");
    if (level !== undefined) {
      const n = Number(level);
      if (!Number.isInteger(n)) throw new UsageError(`--dest-compress-level "${level}" is not an integer`);
      destCtx.compressionLevel = n;
    }
    const tags = list(v, "additional-tag");
    if (tags.length) destCtx.dockerArchiveAdditionalTags = tags;
    let forceManifestMIMEType: string | undefined;
    const format = str(v, "format");
    if (format !== undefined) {
      forceManifestMIMEType = MANIFEST_FORMATS[format];
      if (!forceManifestMIMEType) throw new UsageError(`--format "${format}": expected oci, v2s2 or v2s1`);
    }
    let parallel: number | undefined;
    const par = str(v, "parallel");
    if (par !== undefined) {
      parallel = Number(par);
      if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel "${par}": expected a positive integer`);
    }
    const signIdentityText = str(v, "sign-identity");
    const signIdentity = signIdentityText !== undefined ? parseNormalizedNamed(signIdentityText) : undefined;

    const srcRef = await parseImage(ctx, srcName);
    const destRef = await parseImage(ctx, destName);
    const quiet = v.quiet === true;
    const mode = (str(v, "progress") ?? "auto") as ProgressMode;
    if (!PROGRESS_MODES.includes(mode)) throw new UsageError(`--progress "${mode}": expected ${PROGRESS_MODES.join(", ")}`);
    const output = str(v, "output");
    if (output !== undefined && output !== "json") throw new UsageError(`--output "${output}": expected json`);
    const printer = createProgressPrinter({ mode: quiet && mode === "auto" ? "none" : mode, isTTY: ctx.io.stderrIsTTY, write: ctx.io.stderr });
    const say = output === "json" ? ctx.io.stderr : ctx.io.stdout;
    const cleanups: (() => Promise<void>)[] = [];
    const policy = await loadPolicyContext(ctx, srcCtx);
    if (policy) cleanups.push(() => policy.close());
    const cache = openBlobInfoCache(ctx, destCtx);
    try {
      const { copyImage } = await import("@stevedore/copy");
      const result = await copyImage(policy, destRef, srcRef, {
        sourceCtx: srcCtx,
        destinationCtx: destCtx,
        blobInfoCache: cache,
        ...selection(v),
        ...(v["remove-signatures"] === true ? { removeSignatures: true } : {}),
        ...(v["preserve-digests"] === true ? { preserveDigests: true } : {}),
        ...(forceManifestMIMEType ? { forceManifestMIMEType } : {}),
        ...(parallel ? { maxParallelDownloads: parallel } : {}),
        signers: await signers(ctx, v, cleanups),
        ...(signIdentity ? { signIdentity } : {}),
        ...(printer.listener ? { progress: printer.listener } : {}),
        ...(quiet ? {} : { reportWriter: (line: string) => say(line + "\n") }),
        signal: ctx.io.signal,
      });
      printer.finish();
      const digestfile = str(v, "digestfile");
      if (digestfile !== undefined) writeFileSync(digestfile, result.digest);
      if (output === "json") ctx.io.stdout(JSON.stringify({ Digest: result.digest, MIMEType: result.mimeType }) + "\n");
      return 0;
    } finally {
      printer.finish();
      for (const c of cleanups) await c().catch(() => {});
      cache.dispose();
    }
  },
};
