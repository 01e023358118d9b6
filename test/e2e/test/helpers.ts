import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import type { FixtureImage, FixtureIndex } from "@stevedore/testing";

/** A temp directory removed by the returned function. */
export function tempDir(prefix = "stevedore-e2e-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a fixture image or index into an OCI layout by hand (independently of our transport), tagged `tag`. */
export function writeLayout(dir: string, tag: string, what: FixtureImage | FixtureIndex): void {
  mkdirSync(join(dir, "blobs", "sha256"), { recursive: true });
  const put = (digest: string, bytes: Uint8Array) => writeFileSync(join(dir, "blobs", "sha256", digest.slice(7)), bytes);
  const images = "images" in what ? what.images : [what];
  for (const img of images) {
    for (const [d, b] of img.blobs) put(d, b);
    put(img.digest, img.manifest);
  }
  put(what.digest, what.manifest);
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    join(dir, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: what.mimeType, digest: what.digest, size: what.manifest.length, annotations: { "org.opencontainers.image.ref.name": tag } }],
    }),
  );
}

/** Every file under `dir` with its sha256, sorted: equal strings mean byte-identical trees. */
export function fingerprint(dir: string): string {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${relative(dir, p)} ${createHash("sha256").update(readFileSync(p)).digest("hex")} ${statSync(p).mode.toString(8)}`);
    }
  };
  walk(dir);
  return out.sort().join("\n");
}

/** index.json of a layout, parsed. */
export function layoutIndex(dir: string): { manifests: { digest: string; mediaType: string; annotations?: Record<string, string> }[] } {
  return JSON.parse(readFileSync(join(dir, "index.json"), "utf8"));
}
