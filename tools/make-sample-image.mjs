#!/usr/bin/env node
// Writes examples/sample-image: a small OCI image layout holding a two-platform
// index (linux/amd64 and linux/arm64) tagged "1.0", used by ./run demo and the
// examples. Deterministic: running it again produces the same bytes.
import { createHash } from "node:crypto";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { makeTar } from "../packages/testing/dist/index.js";

const out = join(import.meta.dirname, "..", "examples", "sample-image");
const enc = new TextEncoder();
const sha = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, "blobs", "sha256"), { recursive: true });

function blob(bytes, mediaType) {
  const digest = sha(bytes);
  writeFileSync(join(out, "blobs", "sha256", digest.slice(7)), bytes);
  return { mediaType, digest, size: bytes.length };
}
const json = (o) => enc.encode(JSON.stringify(o));

const created = "2026-01-01T00:00:00Z";
const baseTar = makeTar([
  { name: "etc/os-release", content: enc.encode('NAME="Stevedore sample"\nID=stevedore-sample\nVERSION_ID=1.0\n') },
  { name: "usr/share/doc/sample/README", content: enc.encode("A tiny image for Stevedore's demo: no shell, just files.\n") },
]);
const base = blob(new Uint8Array(gzipSync(baseTar, { level: 9 })), "application/vnd.oci.image.layer.v1.tar+gzip");

const manifests = [];
for (const architecture of ["amd64", "arm64"]) {
  const appTar = makeTar([
    { name: "app/hello.txt", content: enc.encode(`Hello from the ${architecture} image of the Stevedore sample.\n`) },
    { name: "app/data.bin", content: Uint8Array.from({ length: 4096 }, (_, i) => (i * 31 + architecture.length) & 0xff) },
  ]);
  const app = blob(new Uint8Array(gzipSync(appTar, { level: 9 })), "application/vnd.oci.image.layer.v1.tar+gzip");
  const config = blob(
    json({
      created,
      author: "Stevedore",
      architecture,
      os: "linux",
      ...(architecture === "arm64" ? { variant: "v8" } : {}),
      config: {
        Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        Cmd: ["/app/hello.txt"],
        Labels: { "org.opencontainers.image.title": "Stevedore sample", "org.opencontainers.image.version": "1.0" },
      },
      rootfs: { type: "layers", diff_ids: [sha(baseTar), sha(appTar)] },
      history: [
        { created, created_by: "sample base layer" },
        { created, created_by: `sample app layer (${architecture})` },
      ],
    }),
    "application/vnd.oci.image.config.v1+json",
  );
  const m = blob(
    json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: [base, app] }),
    "application/vnd.oci.image.manifest.v1+json",
  );
  manifests.push({ ...m, platform: { architecture, os: "linux", ...(architecture === "arm64" ? { variant: "v8" } : {}) } });
}
const index = blob(json({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests }), "application/vnd.oci.image.index.v1+json");
writeFileSync(join(out, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
writeFileSync(
  join(out, "index.json"),
  JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [{ ...index, annotations: { "org.opencontainers.image.ref.name": "1.0" } }] }),
);
console.log(`wrote ${out}: index ${index.digest}`);
