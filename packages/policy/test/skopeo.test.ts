import { afterAll, describe, expect, test } from "vitest";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { createGpgTestKeys, requireTool, type GpgTestKeys } from "@stevedore/testing";
import { gpgMechanismProvider } from "@stevedore/signature-gpg";
import { openpgpMechanismProvider } from "@stevedore/signature-openpgp";
import { signDockerManifest } from "@stevedore/signature-simple";
import { createPolicyContext, parsePolicy } from "@stevedore/policy";
import { readKeyFile } from "@stevedore/policy/node";
import { decodeSignatureBlob, digestHex, digestOf, type Signature, type SignatureMechanismProvider } from "@stevedore/types";
import { enc, image, testDirTransport } from "./helpers.js";

const run = promisify(execFile);
let keysPromise: Promise<GpgTestKeys> | undefined;
const keys = () => (keysPromise ??= createGpgTestKeys());
let work: string | undefined;
afterAll(async () => {
  if (keysPromise) await (await keysPromise).cleanup();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Writes a small but complete image in skopeo's dir: layout; returns its manifest. */
async function writeDirImage(dir: string): Promise<Uint8Array> {
  await mkdir(dir, { recursive: true });
  const config = enc.encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] }, config: {} }));
  const layer = gzipSync(new Uint8Array(1024)); // an empty tar archive is 1024 zero bytes
  const manifest = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(config), size: config.length },
      layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: digestOf(layer), size: layer.length }],
    }),
  );
  await writeFile(join(dir, "version"), "Directory Transport Version: 1.1\n");
  await writeFile(join(dir, digestHex(digestOf(config))), config);
  await writeFile(join(dir, digestHex(digestOf(layer))), layer);
  await writeFile(join(dir, "manifest.json"), manifest);
  return manifest;
}

/** The image's signatures as the dir: transport stores them (signature-1, signature-2, ...). */
async function dirSignatures(dir: string): Promise<Signature[]> {
  const names = (await readdir(dir)).filter((n) => /^signature-\d+$/.test(n)).sort();
  return Promise.all(names.map(async (n) => decodeSignatureBlob(new Uint8Array(await readFile(join(dir, n))), n)));
}

const providers: Record<string, SignatureMechanismProvider> = { openpgp: openpgpMechanismProvider, gpg: gpgMechanismProvider };

describe("policy decisions agree with skopeo copy --policy", () => {
  test(
    "a valid signature, an unknown key, a modified manifest and a wrong identity get the same verdict from skopeo and from us",
    async () => {
      const skopeo = requireTool("skopeo");
      const k = await keys();
      work = await mkdtemp(join(tmpdir(), "stevedore-policy-skopeo-"));
      const keyFile = join(work, "trusted.asc");
      await writeFile(keyFile, k.rsa.publicKey);
      const policyFile = join(work, "policy.json");
      const policyText = JSON.stringify({
        default: [{ type: "reject" }],
        transports: {
          dir: {
            "": [
              { type: "signedBy", keyType: "GPGKeys", keyPath: keyFile, signedIdentity: { type: "exactReference", dockerReference: "quay.io/stevedore/app:1.0" } },
            ],
          },
        },
      });
      await writeFile(policyFile, policyText);
      const signer = await openpgpMechanismProvider.newMechanism({ keys: [k.rsa.secretKey] });

      type Case = { name: string; prepare: (dir: string, manifest: Uint8Array) => Promise<void>; allowed: boolean };
      const cases: Case[] = [
        {
          name: "valid",
          allowed: true,
          prepare: async (dir, m) => writeFile(join(dir, "signature-1"), await signDockerManifest(m, "quay.io/stevedore/app:1.0", signer, k.rsa.fingerprint)),
        },
        {
          name: "unknown key",
          allowed: false,
          prepare: async (dir, m) => {
            const other = await openpgpMechanismProvider.newMechanism({ keys: [k.unknown.secretKey] });
            await writeFile(join(dir, "signature-1"), await signDockerManifest(m, "quay.io/stevedore/app:1.0", other, k.unknown.fingerprint));
          },
        },
        {
          name: "modified manifest",
          allowed: false,
          prepare: async (dir, m) => {
            await writeFile(join(dir, "signature-1"), await signDockerManifest(m, "quay.io/stevedore/app:1.0", signer, k.rsa.fingerprint));
            await writeFile(join(dir, "manifest.json"), new TextDecoder().decode(m) + "\n");
          },
        },
        {
          name: "wrong identity",
          allowed: false,
          prepare: async (dir, m) => writeFile(join(dir, "signature-1"), await signDockerManifest(m, "quay.io/stevedore/app:2.0", signer, k.rsa.fingerprint)),
        },
        { name: "unsigned", allowed: false, prepare: async () => {} },
      ];

      for (const c of cases) {
        const src = join(work, c.name.replace(/ /g, "-"), "src");
        const dst = join(work, c.name.replace(/ /g, "-"), "dst");
        const manifest = await writeDirImage(src);
        await c.prepare(src, manifest);
        // skopeo's verdict (containers/image with gpgme)
        const skopeoAllowed = await run(skopeo, ["copy", "--policy", policyFile, `dir:${src}`, `dir:${dst}`]).then(
          () => true,
          () => false,
        );
        expect(skopeoAllowed, `skopeo verdict for "${c.name}"`).toBe(c.allowed);
        // ours, with both mechanisms
        for (const [name, provider] of Object.entries(providers)) {
          const ctx = createPolicyContext(parsePolicy(policyText), { mechanismProvider: provider, readKeyFile });
          const img = image(testDirTransport.parseReference(src), new Uint8Array(await readFile(join(src, "manifest.json"))), await dirSignatures(src));
          const ours = await ctx.isRunningImageAllowed(img).then(
            () => true,
            () => false,
          );
          await ctx.close();
          expect(ours, `our verdict (${name}) for "${c.name}"`).toBe(c.allowed);
        }
      }
      await signer.close();
    },
    120_000,
  );
});
