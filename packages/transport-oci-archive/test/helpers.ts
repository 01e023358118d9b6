import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FixtureImage, FixtureIndex } from "@stevedore/testing";
import { requireTool } from "@stevedore/testing";
import { streamOf, type BlobInfoCache, type ImageReference, type SystemContext } from "@stevedore/types";

/** A cache that records nothing. */
export const noCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix = "stevedore-oci-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A fingerprint of everything under `path`: every entry's relative path,
 * type, mode and (files) SHA-256, sorted; "absent" when `path` does not
 * exist. With `ignoreTemporaries`, names starting with `.stevedore-` are
 * skipped (what a SIGKILLed writer may leave; never part of the image).
 */
export async function snapshot(path: string, options: { ignoreTemporaries?: boolean } = {}): Promise<string> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const p = rel === "" ? path : join(path, rel);
    const st = await lstat(p);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isDirectory()) {
      out.push(`d ${rel || "."} ${mode}`);
      for (const n of (await readdir(p)).sort()) {
        if (options.ignoreTemporaries && n.startsWith(".stevedore-")) continue;
        await walk(rel === "" ? n : `${rel}/${n}`);
      }
    } else if (st.isSymbolicLink()) {
      out.push(`l ${rel} -> ${await readlink(p)}`);
    } else {
      out.push(`f ${rel} ${mode} ${createHash("sha256").update(await readFile(p)).digest("hex")}`);
    }
  };
  try {
    await lstat(path);
  } catch {
    return "absent";
  }
  await walk("");
  return out.join("\n");
}

/** Runs a system tool (failing with the Debian package name when missing). */
export function run(tool: string, args: readonly string[], options: { cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> {
  const bin = requireTool(tool);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: options.cwd, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve({ stdout, stderr });
    });
  });
}

/** `skopeo --insecure-policy copy src dest` (offline for local transports). */
export function skopeoCopy(src: string, dest: string, extra: readonly string[] = []): Promise<{ stdout: string; stderr: string }> {
  return run("skopeo", ["--insecure-policy", "copy", "-q", ...extra, src, dest]);
}

/** The manifest digest `skopeo inspect` reports. */
export async function skopeoDigest(name: string): Promise<string> {
  const { stdout } = await run("skopeo", ["inspect", "--raw", name]);
  return `sha256:${createHash("sha256").update(stdout).digest("hex")}`;
}

/** Writes `img` in the `dir:` transport's format (so that skopeo can read it). */
export async function writeDirImage(dir: string, img: FixtureImage): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "version"), "Directory Transport Version: 1.1\n");
  await writeFile(join(dir, "manifest.json"), img.manifest);
  for (const [d, b] of img.blobs) await writeFile(join(dir, d.slice(d.indexOf(":") + 1)), b);
}

async function putImage(dest: Awaited<ReturnType<ImageReference["newImageDestination"]>>, img: FixtureImage, asInstance: boolean): Promise<void> {
  for (const [i, l] of img.layers.entries()) {
    await dest.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size, mediaType: l.mediaType }, { cache: noCache, layerIndex: i });
  }
  await dest.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache, isConfig: true });
  await dest.putManifest(img.manifest, asInstance ? img.digest : undefined);
}

/** Writes an image or an index (with its images) through `ref`'s destination and commits it. */
export async function writeWithDestination(ref: ImageReference, what: FixtureImage | FixtureIndex, ctx: SystemContext = {}): Promise<void> {
  const dest = await ref.newImageDestination(ctx);
  try {
    if ("images" in what) {
      for (const img of what.images) await putImage(dest, img, true);
      await dest.putManifest(what.manifest);
      await dest.commit({ toplevel: { bytes: what.manifest, mimeType: what.mimeType } });
    } else {
      await putImage(dest, what, false);
      await dest.commit({ toplevel: { bytes: what.manifest, mimeType: what.mimeType } });
    }
  } finally {
    await dest.close();
  }
}

/** Parsed index.json of a layout directory. */
export async function readIndexJSON(dir: string): Promise<{ manifests: { digest: string; mediaType: string; size: number; annotations?: Record<string, string> }[] }> {
  return JSON.parse(await readFile(join(dir, "index.json"), "utf8")) as { manifests: { digest: string; mediaType: string; size: number; annotations?: Record<string, string> }[] };
}

/** The image names (ref.name annotations) of a layout, in index.json order. */
export async function layoutNames(dir: string): Promise<(string | undefined)[]> {
  return (await readIndexJSON(dir)).manifests.map((m) => m.annotations?.["org.opencontainers.image.ref.name"]);
}

/** Writes `img` as an OCI layout directory by hand (blobs, index.json naming it `name`, oci-layout). */
export async function writeLayoutByHand(dir: string, img: FixtureImage, name?: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const [d, b] of [...img.blobs, [img.digest, img.manifest] as const]) await writeFile(join(dir, "blobs", "sha256", d.slice(7)), b);
  await writeFile(join(dir, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
  const desc = { mediaType: img.mimeType, digest: img.digest, size: img.manifest.length, ...(name ? { annotations: { "org.opencontainers.image.ref.name": name } } : {}) };
  await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [desc] }));
}
