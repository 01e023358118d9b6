import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";
import { digestOf, utf8, type Digest, type Platform } from "@stevedore/types";

/** A blob of a test image. */
export interface FixtureBlob {
  digest: Digest;
  size: number;
  mediaType: string;
  bytes: Uint8Array;
}

/** A small, complete image made in memory for tests. */
export interface FixtureImage {
  /** The manifest bytes. */
  manifest: Uint8Array;
  mimeType: string;
  digest: Digest;
  config: FixtureBlob;
  layers: FixtureBlob[];
  /** The uncompressed digests of the layers (the config's rootfs.diff_ids). */
  diffIDs: Digest[];
  /** Every blob by digest (config and layers). */
  blobs: Map<Digest, Uint8Array>;
}

/** Options of {@link makeFixtureImage}. */
export interface FixtureImageOptions {
  /** `oci` (default) or `docker` (schema2). */
  format?: "oci" | "docker";
  /** Number of layers (default 2). */
  layers?: number;
  /** Bytes of random content per layer file (default 1024). */
  layerSize?: number;
  /** Compress layers with gzip (default true). */
  gzip?: boolean;
  platform?: Platform;
  /** Labels in the config. */
  labels?: Record<string, string>;
  /** Content seed: images with equal seeds share nothing else; layers are random anyway. */
  created?: string;
}

const TAR_BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

/** A minimal POSIX (ustar) tar with regular files. */
export function makeTar(files: readonly { name: string; content: Uint8Array; mode?: number }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const h = new Uint8Array(TAR_BLOCK);
    const put = (s: string, off: number) => h.set(utf8(s), off);
    put(f.name, 0);
    put(octal(f.mode ?? 0o644, 8), 100);
    put(octal(0, 8), 108);
    put(octal(0, 8), 116);
    put(octal(f.content.length, 12), 124);
    put(octal(1_700_000_000, 12), 136);
    put("        ", 148);
    h[156] = "0".charCodeAt(0);
    put("ustar\0", 257);
    put("00", 263);
    let sum = 0;
    for (const b of h) sum += b;
    put(octal(sum, 7) + " ", 148);
    parts.push(h, f.content);
    const pad = (TAR_BLOCK - (f.content.length % TAR_BLOCK)) % TAR_BLOCK;
    if (pad) parts.push(new Uint8Array(pad));
  }
  parts.push(new Uint8Array(TAR_BLOCK * 2));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function blob(bytes: Uint8Array, mediaType: string): FixtureBlob {
  return { digest: digestOf(bytes), size: bytes.length, mediaType, bytes };
}

/**
 * Makes a small valid image: layers are tars of random files (gzip by
 * default), an image config whose diff_ids match, and an OCI or Docker
 * schema2 manifest. Every call yields new random content.
 */
export function makeFixtureImage(options: FixtureImageOptions = {}): FixtureImage {
  const format = options.format ?? "oci";
  const n = options.layers ?? 2;
  const gz = options.gzip ?? true;
  const platform = options.platform ?? { architecture: "amd64", os: "linux" };
  const layerType =
    format === "oci"
      ? gz
        ? "application/vnd.oci.image.layer.v1.tar+gzip"
        : "application/vnd.oci.image.layer.v1.tar"
      : gz
        ? "application/vnd.docker.image.rootfs.diff.tar.gzip"
        : "application/vnd.docker.image.rootfs.diff.tar";
  const layers: FixtureBlob[] = [];
  const diffIDs: Digest[] = [];
  for (let i = 0; i < n; i++) {
    const tar = makeTar([{ name: `layer${i}/file.bin`, content: new Uint8Array(randomBytes(options.layerSize ?? 1024)) }]);
    diffIDs.push(digestOf(tar));
    layers.push(blob(gz ? new Uint8Array(gzipSync(tar)) : tar, layerType));
  }
  const created = options.created ?? "2024-01-02T03:04:05Z";
  const config = {
    created,
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {
      Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
      Cmd: ["/bin/sh"],
      ...(options.labels ? { Labels: options.labels } : {}),
    },
    rootfs: { type: "layers", diff_ids: diffIDs },
    history: layers.map((_, i) => ({ created, created_by: `fixture layer ${i}` })),
  };
  const configBlob = blob(
    utf8(JSON.stringify(config)),
    format === "oci" ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json",
  );
  const mimeType = format === "oci" ? "application/vnd.oci.image.manifest.v1+json" : "application/vnd.docker.distribution.manifest.v2+json";
  const desc = (b: FixtureBlob) => ({ mediaType: b.mediaType, digest: b.digest, size: b.size });
  const manifest = utf8(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: mimeType,
        config: desc(configBlob),
        layers: layers.map(desc),
      },
      null,
      3,
    ),
  );
  const blobs = new Map<Digest, Uint8Array>([[configBlob.digest, configBlob.bytes], ...layers.map((l) => [l.digest, l.bytes] as const)]);
  return { manifest, mimeType, digest: digestOf(manifest), config: configBlob, layers, diffIDs, blobs };
}

/** An OCI index (or Docker manifest list) over images made by {@link makeFixtureImage}. */
export interface FixtureIndex {
  manifest: Uint8Array;
  mimeType: string;
  digest: Digest;
  images: FixtureImage[];
  platforms: Platform[];
}

/** Makes an index of one image per platform (same format for all). */
export function makeFixtureIndex(platforms: readonly Platform[], options: Omit<FixtureImageOptions, "platform"> = {}): FixtureIndex {
  const format = options.format ?? "oci";
  const images = platforms.map((platform) => makeFixtureImage({ ...options, platform }));
  const mimeType = format === "oci" ? "application/vnd.oci.image.index.v1+json" : "application/vnd.docker.distribution.manifest.list.v2+json";
  const manifest = utf8(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: mimeType,
        manifests: images.map((img, i) => ({
          mediaType: img.mimeType,
          digest: img.digest,
          size: img.manifest.length,
          platform: platforms[i],
        })),
      },
      null,
      3,
    ),
  );
  return { manifest, mimeType, digest: digestOf(manifest), images, platforms: [...platforms] };
}
