import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, zstdCompressSync } from "node:zlib";
import { requireTool, type FixtureImage } from "@stevedore/testing";
import type { BlobInfoCache } from "@stevedore/types";

/** A cache that records nothing. */
export const noCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** A fresh temporary directory and its removal. */
export async function tempDir(prefix = "stevedore-tarball-test-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a system tool (failing with the Debian package name when it is missing). */
export function run(tool: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv } = {}): Promise<{ stdout: string; stderr: string }> {
  const bin = requireTool(tool);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { env: options.env ?? process.env, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${tool} ${args.join(" ")} failed: ${stderr.trim() || error.message}`, { cause: error }));
      else resolve({ stdout, stderr });
    });
  });
}

/** sha256 digest string of bytes. */
export function sha256(b: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/** The layers of a (gzip) fixture image as files: the fixture's own gzip bytes, the plain tars, or the tars compressed with zstd. */
export function layerFiles(img: FixtureImage, compression: "none" | "gzip" | "zstd"): Uint8Array[] {
  if (compression === "gzip") return img.layers.map((l) => l.bytes);
  const tars = img.layers.map((l) => new Uint8Array(gunzipSync(l.bytes)));
  if (compression === "none") return tars;
  return tars.map((t) => new Uint8Array(zstdCompressSync(t)));
}

/** Writes `files` as layer0…layerN in `dir` and returns their paths. */
export async function writeLayers(dir: string, files: Uint8Array[], suffix = ""): Promise<string[]> {
  const paths: string[] = [];
  for (const [i, f] of files.entries()) {
    const p = join(dir, `layer${i}${suffix}`);
    await writeFile(p, f);
    paths.push(p);
  }
  return paths;
}

/** The manifest and config JSON of an image source. */
export interface ImageJSON {
  manifest: { schemaVersion: number; mediaType?: string; config: { mediaType: string; digest: string; size: number }; layers: { mediaType: string; digest: string; size: number }[] };
  config: { created: string; architecture: string; os: string; variant?: string; rootfs: { type: string; diff_ids: string[] }; history: { created: string; created_by: string; comment: string }[] };
}
