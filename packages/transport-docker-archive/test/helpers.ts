import { execFile, type ExecFileOptions } from "node:child_process";
import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import tar from "tar-stream";
import { requireTool, type FixtureImage } from "@stevedore/testing";
import {
  BlobUnknownError,
  ManifestUnknownError,
  UnsupportedError,
  digestHex,
  readAll,
  type BlobInfo,
  type BlobInfoCache,
  type Digest,
  type ImageDestination,
  type ImageReference,
  type ImageSource,
} from "@stevedore/types";

const run = promisify(execFile);

/** A cache that records nothing. */
export const noCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** A fresh temporary directory; remove it with `rm`. */
export function tempDir(prefix = "da-test-"): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Runs a system tool (which must be installed), returning stdout. */
export async function tool(name: string, args: readonly string[], options: ExecFileOptions = {}): Promise<string> {
  const path = requireTool(name);
  const { stdout } = await run(path, args as string[], { maxBuffer: 64 * 1024 * 1024, encoding: "utf8", ...options });
  return String(stdout);
}

/** Runs skopeo without a trust policy. */
export function skopeo(...args: string[]): Promise<string> {
  return tool("skopeo", ["--insecure-policy", ...args]);
}

/** Writes `img` as an OCI image layout at `dir` with the tag `tag`. */
export async function writeOCILayout(dir: string, img: FixtureImage, tag: string): Promise<void> {
  await mkdir(join(dir, "blobs", "sha256"), { recursive: true });
  for (const [d, b] of img.blobs) await writeFile(join(dir, "blobs", "sha256", digestHex(d)), b);
  await writeFile(join(dir, "blobs", "sha256", digestHex(img.digest)), img.manifest);
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: img.mimeType, digest: img.digest, size: img.manifest.length, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
}

/** A tar entry for {@link packTar}. */
export interface PackEntry {
  name: string;
  content?: Uint8Array | string;
  type?: "file" | "symlink" | "link" | "directory" | "fifo";
  linkname?: string;
}

/** Builds a tar with tar-stream (an encoder independent of the one under test). */
export async function packTar(entries: readonly PackEntry[]): Promise<Uint8Array> {
  const p = tar.pack();
  const done = readAll(p as AsyncIterable<Uint8Array>);
  for (const e of entries) {
    const type = e.type ?? "file";
    const content = typeof e.content === "string" ? Buffer.from(e.content) : Buffer.from(e.content ?? new Uint8Array());
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (type === "file") p.entry({ name: e.name, type, mode: 0o644, mtime: new Date(0) }, content, cb);
      else p.entry({ name: e.name, type, ...(e.linkname === undefined ? {} : { linkname: e.linkname }), mode: 0o755, mtime: new Date(0) }, cb);
    });
  }
  p.finalize();
  return new Uint8Array(await done);
}

/** The entries of a tar file as tar-stream reads them: name → {type, content, linkname}. */
export async function listTar(path: string): Promise<Map<string, { type: string; content: Uint8Array; linkname: string | null | undefined }>> {
  const out = new Map<string, { type: string; content: Uint8Array; linkname: string | null | undefined }>();
  const ex = tar.extract();
  createReadStream(path).pipe(ex);
  for await (const entry of ex) {
    const content = new Uint8Array(await readAll(entry as AsyncIterable<Uint8Array>));
    out.set(entry.header.name, { type: String(entry.header.type), content, linkname: entry.header.linkname });
  }
  return out;
}

/** One image for {@link dockerArchiveOf}. */
export interface ArchiveImage {
  img: FixtureImage;
  repoTags: string[];
  /** Store layers as they are in the fixture (gzip) instead of uncompressed. */
  layerNames?: (i: number, digest: Digest) => string;
  configName?: string;
}

/**
 * Builds a `docker save`-style archive by hand (manifest.json + config +
 * layer files) for several images, layers stored as the fixture has them.
 */
export function dockerArchiveEntries(images: readonly ArchiveImage[]): { entries: PackEntry[]; manifest: unknown[] } {
  const entries: PackEntry[] = [];
  const seen = new Set<string>();
  const manifest: unknown[] = [];
  for (const { img, repoTags, layerNames, configName } of images) {
    const cfg = configName ?? `${digestHex(img.config.digest)}.json`;
    if (!seen.has(cfg)) {
      entries.push({ name: cfg, content: img.config.bytes });
      seen.add(cfg);
    }
    const layers: string[] = [];
    for (const [i, l] of img.layers.entries()) {
      const name = layerNames ? layerNames(i, l.digest) : `${digestHex(l.digest)}/layer.tar`;
      if (!seen.has(name)) {
        entries.push({ name, content: l.bytes });
        seen.add(name);
      }
      layers.push(name);
    }
    manifest.push({ Config: cfg, RepoTags: repoTags, Layers: layers });
  }
  return { entries, manifest };
}

/** Writes a hand-built archive of `images` (plus `extra` entries) to `path`. */
export async function writeDockerArchive(path: string, images: readonly ArchiveImage[], extra: readonly PackEntry[] = []): Promise<void> {
  const { entries, manifest } = dockerArchiveEntries(images);
  await writeFile(path, await packTar([...entries, ...extra, { name: "manifest.json", content: JSON.stringify(manifest) }]));
}

/** Writes `img` through a destination by hand (as the conformance suite does). */
export async function writeImage(dest: ImageDestination, img: FixtureImage): Promise<void> {
  for (const [i, l] of img.layers.entries()) {
    await dest.putBlob(chunks(l.bytes), { digest: l.digest, size: l.size, mediaType: l.mediaType }, { cache: noCache, layerIndex: i });
  }
  await dest.putBlob(chunks(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache, isConfig: true });
  await dest.putManifest(img.manifest);
}

async function* chunks(b: Uint8Array): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < b.length; i += 1000) yield b.subarray(i, i + 1000);
}

/** Names in a directory, sorted. */
export async function namesIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

/** A fingerprint of a directory's files and their contents. */
export async function fingerprint(dir: string): Promise<string> {
  const parts: string[] = [];
  for (const n of await namesIn(dir)) {
    let content = "";
    try {
      content = Buffer.from(await readFile(join(dir, n))).toString("base64");
    } catch {
      content = "(not a file)";
    }
    parts.push(`${n}:${content}`);
  }
  return parts.join("\n");
}

/**
 * A source serving a fixture image from memory, exactly as an OCI layout
 * would (its manifest bytes, its blobs as stored), for copy tests that need
 * gzip-compressed layers while no OCI transport is a dependency of this package.
 */
export function memorySourceReference(img: FixtureImage): ImageReference {
  const ref: ImageReference = {
    transport: { apiVersion: 1, name: "memory", parseReference: () => ref, validatePolicyConfigurationScope() {} },
    stringWithinTransport: () => "fixture",
    dockerReference: () => undefined,
    policyConfigurationIdentity: () => "",
    policyConfigurationNamespaces: () => [],
    async newImageSource(): Promise<ImageSource> {
      return {
        reference: ref,
        capabilities: { threadSafeGetBlob: true, getBlobAt: false },
        async getManifest(instance?: Digest) {
          if (instance !== undefined && instance !== img.digest) throw new ManifestUnknownError(`no instance ${instance}`);
          return { bytes: img.manifest, mimeType: img.mimeType };
        },
        async getBlob(info: BlobInfo) {
          const b = info.digest === undefined ? undefined : img.blobs.get(info.digest);
          if (!b) throw new BlobUnknownError(`no blob ${info.digest}`);
          return { stream: chunks(b), size: b.length };
        },
        getSignatures: async () => [],
        layerInfosForCopy: async () => undefined,
        close: async () => {},
      };
    },
    newImageDestination: () => Promise.reject(new UnsupportedError("read-only")),
    deleteImage: () => Promise.reject(new UnsupportedError("read-only")),
  };
  return ref;
}
