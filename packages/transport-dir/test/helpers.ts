import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool, type FixtureImage, type FixtureIndex } from "@stevedore/testing";
import { streamOf, type BlobInfoCache, type ImageDestination, type ImageReference, type SystemContext } from "@stevedore/types";

/** A cache that records nothing. */
export const noCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix = "stevedore-dir-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * A fingerprint of everything under `path`: each entry's relative path, type,
 * mode and (files) SHA-256 or (links) target, sorted; "absent" when `path`
 * does not exist. With `ignoreStaging`, names containing `.stevedore-staging-`
 * are skipped (what a SIGKILLed writer may leave; never part of the image).
 */
export async function snapshot(path: string, options: { ignoreStaging?: boolean } = {}): Promise<string> {
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const p = rel === "" ? path : join(path, rel);
    const st = await lstat(p);
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out.push(`l ${rel} -> ${await readlink(p)}`);
    else if (st.isDirectory()) {
      out.push(`d ${rel || "."} ${mode}`);
      for (const n of (await readdir(p)).sort()) {
        if (options.ignoreStaging && n.includes("stevedore-staging-")) continue;
        await walk(rel === "" ? n : `${rel}/${n}`);
      }
    } else out.push(`f ${rel} ${mode} ${createHash("sha256").update(await readFile(p)).digest("hex")}`);
  };
  try {
    await lstat(path);
  } catch {
    return "absent";
  }
  await walk("");
  return out.join("\n");
}

/** Runs a system tool (failing with the Debian package name when it is missing). */
export function run(
  tool: string,
  args: readonly string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ stdout: string; stderr: string }> {
  const bin = requireTool(tool);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve({ stdout, stderr });
    });
  });
}

/** `skopeo --insecure-policy copy -q … src dest` (offline for local transports). */
export function skopeoCopy(src: string, dest: string, extra: readonly string[] = [], env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return run("skopeo", ["--insecure-policy", "copy", "-q", ...extra, src, dest], env ? { env } : {});
}

/** The raw manifest `skopeo inspect --raw` prints, and its sha256 digest. */
export async function skopeoRaw(name: string): Promise<{ raw: string; digest: string }> {
  const { stdout } = await run("skopeo", ["inspect", "--raw", name]);
  return { raw: stdout, digest: `sha256:${createHash("sha256").update(stdout).digest("hex")}` };
}

/** Writes `img` in the dir layout by hand (the way scripts and older tools do). */
export async function writeDirByHand(dir: string, img: FixtureImage): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "version"), "Directory Transport Version: 1.1\n");
  await writeFile(join(dir, "manifest.json"), img.manifest);
  for (const [d, b] of img.blobs) await writeFile(join(dir, d.slice(d.indexOf(":") + 1)), b);
}

async function putImage(dest: ImageDestination, img: FixtureImage, asInstance: boolean): Promise<void> {
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
    } else await putImage(dest, what, false);
    await dest.commit({ toplevel: { bytes: what.manifest, mimeType: what.mimeType } });
  } finally {
    await dest.close();
  }
}

/** The names in `dir`, sorted. */
export async function names(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** sha256 hex of bytes. */
export function sha256hex(b: Uint8Array | string): string {
  return createHash("sha256").update(b).digest("hex");
}
