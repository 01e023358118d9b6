// Interoperability with the real containers/image: skopeo reads what Stevedore
// writes and Stevedore reads what skopeo writes, digests unchanged, signatures
// byte for byte.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, makeFixtureIndex } from "@stevedore/testing";
import { digestOf, readAll, type ImageSource } from "@stevedore/types";
import { newDirReference } from "@stevedore/transport-dir";
import { noCache, run, sha256hex, skopeoCopy, skopeoRaw, tempDir, writeDirByHand, writeWithDestination } from "./helpers.js";

let t: { dir: string; cleanup: () => Promise<void> };
beforeAll(async () => {
  t = await tempDir();
});
afterAll(() => t.cleanup());

async function withSource<T>(dir: string, fn: (s: ImageSource) => Promise<T>): Promise<T> {
  const s = await newDirReference(dir).newImageSource();
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function ociIndexDigest(layout: string): Promise<string> {
  const index = JSON.parse(await readFile(join(layout, "index.json"), "utf8")) as { manifests: { digest: string }[] };
  return index.manifests[0]!.digest;
}

describe("skopeo reads what Stevedore writes", () => {
  test("skopeo copy dir:(Stevedore) oci: keeps the manifest digest, and skopeo inspect --raw prints our bytes", async () => {
    const img = makeFixtureImage({ layers: 3 });
    const ours = join(t.dir, "w1-ours");
    await writeWithDestination(newDirReference(ours), img);
    expect((await skopeoRaw(`dir:${ours}`)).digest).toBe(img.digest);
    await skopeoCopy(`dir:${ours}`, `oci:${join(t.dir, "w1-oci")}:v1`);
    expect(await ociIndexDigest(join(t.dir, "w1-oci"))).toBe(img.digest);
  });

  test("skopeo copies an index Stevedore wrote, with --all, keeping every digest", async () => {
    const index = makeFixtureIndex([
      { architecture: "amd64", os: "linux" },
      { architecture: "arm64", os: "linux", variant: "v8" },
    ]);
    const ours = join(t.dir, "w2-ours");
    await writeWithDestination(newDirReference(ours), index);
    await skopeoCopy(`dir:${ours}`, `oci:${join(t.dir, "w2-oci")}:multi`, ["--all"]);
    expect(await ociIndexDigest(join(t.dir, "w2-oci"))).toBe(index.digest);
    for (const img of index.images) {
      expect(sha256hex(await readFile(join(t.dir, "w2-oci", "blobs", "sha256", img.digest.slice(7))))).toBe(img.digest.slice(7));
    }
  });

  test("a dir: image copied by copyImage() from a hand-made dir is what skopeo reads", async () => {
    const img = makeFixtureImage({ format: "docker" });
    await writeDirByHand(join(t.dir, "w3-hand"), img);
    const r = await copyImage(undefined, newDirReference(join(t.dir, "w3-ours")), newDirReference(join(t.dir, "w3-hand")));
    expect(r.digest).toBe(img.digest);
    const { stdout } = await run("skopeo", ["inspect", `dir:${join(t.dir, "w3-ours")}`]);
    const info = JSON.parse(stdout) as { Digest: string; Layers: string[] };
    expect(info.Digest).toBe(img.digest);
    expect(info.Layers).toEqual(img.layers.map((l) => l.digest));
  });
});

describe("Stevedore reads what skopeo writes", () => {
  test("skopeo copy oci: dir: → our source serves the same manifest and blobs; copyImage() to another dir keeps the digest", async () => {
    const img = makeFixtureImage({ layers: 2 });
    await writeDirByHand(join(t.dir, "r1-hand"), img);
    await skopeoCopy(`dir:${join(t.dir, "r1-hand")}`, `oci:${join(t.dir, "r1-oci")}:v1`);
    await skopeoCopy(`oci:${join(t.dir, "r1-oci")}:v1`, `dir:${join(t.dir, "r1-skopeo")}`);
    await withSource(join(t.dir, "r1-skopeo"), async (s) => {
      const m = await s.getManifest();
      expect(digestOf(m.bytes)).toBe(img.digest);
      expect(m.mimeType).toBe(img.mimeType);
      for (const [d, b] of img.blobs) expect(await readAll((await s.getBlob({ digest: d, size: b.length }, noCache)).stream)).toEqual(b);
    });
    const r = await copyImage(undefined, newDirReference(join(t.dir, "r1-ours")), newDirReference(join(t.dir, "r1-skopeo")));
    expect(r.digest).toBe(img.digest);
    expect((await skopeoRaw(`dir:${join(t.dir, "r1-ours")}`)).digest).toBe(img.digest);
  });

  test("skopeo --dest-decompress output is read, and our dirForceDecompress output matches skopeo's layer digests", async () => {
    const img = makeFixtureImage({ layers: 2 });
    await writeDirByHand(join(t.dir, "r2-hand"), img);
    await skopeoCopy(`dir:${join(t.dir, "r2-hand")}`, `dir:${join(t.dir, "r2-skopeo")}`, ["--dest-decompress"]);
    await copyImage(undefined, newDirReference(join(t.dir, "r2-ours")), newDirReference(join(t.dir, "r2-hand")), { destinationCtx: { dirForceDecompress: true } });
    const layersOf = async (dir: string) => withSource(dir, async (s) => (JSON.parse(new TextDecoder().decode((await s.getManifest()).bytes)) as { layers: { digest: string; mediaType: string }[] }).layers);
    const theirs = await layersOf(join(t.dir, "r2-skopeo"));
    const ours = await layersOf(join(t.dir, "r2-ours"));
    expect(ours).toEqual(theirs);
    expect(ours.map((l) => l.digest)).toEqual(img.diffIDs);
  });
});

describe("compression on the way in", () => {
  test("dirForceCompress gzips plain layers like skopeo --dest-compress: same media types and diff_ids, readable by skopeo", async () => {
    const img = makeFixtureImage({ layers: 2, gzip: false });
    await writeDirByHand(join(t.dir, "c-hand"), img);
    await skopeoCopy(`dir:${join(t.dir, "c-hand")}`, `dir:${join(t.dir, "c-skopeo")}`, ["--dest-compress"]);
    await copyImage(undefined, newDirReference(join(t.dir, "c-ours")), newDirReference(join(t.dir, "c-hand")), { destinationCtx: { dirForceCompress: true } });
    const inspect = async (dir: string) => JSON.parse((await run("skopeo", ["inspect", "--config", `dir:${dir}`])).stdout) as { rootfs: { diff_ids: string[] } };
    const layers = async (dir: string) => (JSON.parse(await readFile(join(dir, "manifest.json"), "utf8")) as { layers: { mediaType: string }[] }).layers.map((l) => l.mediaType);
    expect(await layers(join(t.dir, "c-ours"))).toEqual(await layers(join(t.dir, "c-skopeo")));
    expect(await layers(join(t.dir, "c-ours"))).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip", "application/vnd.oci.image.layer.v1.tar+gzip"]);
    expect((await inspect(join(t.dir, "c-ours"))).rootfs.diff_ids).toEqual(img.diffIDs);
  });
});

describe("signatures stored by skopeo --sign-by", () => {
  let gnupg: string;
  let fingerprint: string;
  const env = () => ({ ...process.env, GNUPGHOME: gnupg });

  beforeAll(async () => {
    gnupg = join(t.dir, "gnupg");
    const { mkdir } = await import("node:fs/promises");
    await mkdir(gnupg, { mode: 0o700 });
    await run("gpg", ["--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Stevedore Test <stevedore-test@example.invalid>", "ed25519", "sign", "never"], { env: env() });
    const { stdout } = await run("gpg", ["--batch", "--with-colons", "--list-secret-keys"], { env: env() });
    fingerprint = stdout.split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
    expect(fingerprint).toMatch(/^[0-9A-F]{40}$/);
  });
  afterAll(async () => {
    await run("gpgconf", ["--kill", "all"], { env: env() }).catch(() => {});
  });

  test("our source returns the exact bytes skopeo stored, and copyImage() carries them to another dir that skopeo verifies", async () => {
    const img = makeFixtureImage();
    await writeDirByHand(join(t.dir, "s-hand"), img);
    const signed = join(t.dir, "s-signed");
    await skopeoCopy(`dir:${join(t.dir, "s-hand")}`, `dir:${signed}`, ["--sign-by", fingerprint, "--sign-identity", "example.com/stevedore/test:v1"], env());
    const stored = new Uint8Array(await readFile(join(signed, "signature-1")));
    expect(stored.length).toBeGreaterThan(0);
    await withSource(signed, async (s) => {
      const sigs = await s.getSignatures();
      expect(sigs).toHaveLength(1);
      expect(sigs[0]).toEqual({ format: "simple-signing", untrustedSignature: stored });
    });
    const copied = join(t.dir, "s-copied");
    await copyImage(undefined, newDirReference(copied), newDirReference(signed));
    expect(new Uint8Array(await readFile(join(copied, "signature-1")))).toEqual(stored);
    const { stdout } = await run(
      "skopeo",
      ["standalone-verify", join(copied, "manifest.json"), "example.com/stevedore/test:v1", fingerprint, join(copied, "signature-1")],
      { env: env() },
    );
    expect(stdout).toContain(img.digest);
  });

  test("skopeo reads the signatures Stevedore stored (copying them on to another dir unchanged)", async () => {
    const img = makeFixtureImage();
    await writeDirByHand(join(t.dir, "s2-hand"), img);
    await skopeoCopy(`dir:${join(t.dir, "s2-hand")}`, `dir:${join(t.dir, "s2-signed")}`, ["--sign-by", fingerprint, "--sign-identity", "example.com/stevedore/test:v2"], env());
    await copyImage(undefined, newDirReference(join(t.dir, "s2-ours")), newDirReference(join(t.dir, "s2-signed")));
    await skopeoCopy(`dir:${join(t.dir, "s2-ours")}`, `dir:${join(t.dir, "s2-back")}`);
    expect(await readFile(join(t.dir, "s2-back", "signature-1"))).toEqual(await readFile(join(t.dir, "s2-signed", "signature-1")));
  });
});
