/**
 * Interoperability with the real skopeo (containers/image): conversions must
 * produce the same bytes and digests, skopeo must read what Stevedore writes,
 * and inspect must agree with `skopeo inspect`.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireTool } from "@stevedore/testing";
import { digestHex, digestOf, type Digest } from "@stevedore/types";
import {
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  inspectInfo,
  manifestDigest,
  OCI_MANIFEST_MEDIA_TYPE,
  parseImageManifest,
  updateManifest,
  type ImageManifestView,
  type NewBlob,
} from "@stevedore/manifest";

let work: string;
let skopeo: string;
const enc = new TextEncoder();

function run(args: string[]): string {
  return execFileSync(skopeo, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function copy(format: string, from: string, to: string): void {
  run(["--insecure-policy", "copy", "-q", "--format", format, `dir:${join(work, from)}`, `dir:${join(work, to)}`]);
}

function tarOf(name: string, content: string): Uint8Array {
  const src = join(work, `tar-${name}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, name), content);
  return new Uint8Array(execFileSync(requireTool("tar"), ["--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "-cf", "-", "-C", src, name]));
}

function writeImage(dir: string, manifest: Uint8Array, blobs: readonly Uint8Array[]): void {
  const d = join(work, dir);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "version"), "Directory Transport Version: 1.1\n");
  writeFileSync(join(d, "manifest.json"), manifest);
  for (const b of blobs) writeFileSync(join(d, digestHex(digestOf(b))), b);
}

const read = (dir: string, file: string) => new Uint8Array(readFileSync(join(work, dir, file)));
const blob = (dir: string, d: string) => read(dir, digestHex(d as Digest));

let layers: Uint8Array[];
let config: Uint8Array;

beforeAll(() => {
  skopeo = requireTool("skopeo");
  work = mkdtempSync(join(tmpdir(), "stevedore-manifest-skopeo-"));
  const tars = [tarOf("a.txt", "first layer\n"), tarOf("b.txt", "second layer\n")];
  layers = tars.map((t) => new Uint8Array(gzipSync(t)));
  config = enc.encode(
    JSON.stringify({
      architecture: "arm64",
      variant: "v8",
      os: "linux",
      created: "2023-04-05T06:07:08.120000000+02:00",
      author: "Jane <jane@example.com> & co",
      docker_version: "24.0.7",
      container: "c0ffee",
      container_config: { Hostname: "h", Cmd: ["/bin/sh", "-c", "#(nop) CMD"], Labels: null },
      config: {
        Hostname: "h",
        User: "app",
        ExposedPorts: { "8080/tcp": {} },
        Env: ["PATH=/usr/bin:/bin", "X=<y>"],
        Cmd: ["serve"],
        Volumes: { "/data": {} },
        WorkingDir: "/srv",
        Labels: { "org.example.z": "last", "org.example.a": "first", é: "accent" },
        StopSignal: "SIGTERM",
        OnBuild: [],
      },
      rootfs: { type: "layers", diff_ids: tars.map((t) => digestOf(t)) },
      history: [
        { created: "2023-04-05T04:00:00Z", created_by: "ADD a.txt /" },
        { created: "2023-04-05T04:00:01Z", created_by: "ENV X=<y>", empty_layer: true },
        { created: "2023-04-05T04:00:02.5Z", created_by: "RUN make", author: "Jane", comment: "build step" },
        { created: "2023-04-05T04:00:03Z", created_by: "CMD [\"serve\"]", empty_layer: true },
      ],
    }),
  );
  const manifest = enc.encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: DOCKER_SCHEMA2_MEDIA_TYPE,
      config: { mediaType: "application/vnd.docker.container.image.v1+json", size: config.byteLength, digest: digestOf(config) },
      layers: layers.map((l) => ({ mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: l.byteLength, digest: digestOf(l) })),
    }),
  );
  writeImage("src", manifest, [config, ...layers]);
  copy("oci", "src", "sk-oci");
  copy("v2s1", "src", "sk-s1");
  copy("v2s2", "sk-s1", "sk-s1-s2");
  copy("oci", "sk-s1", "sk-s1-oci");
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const view = (dir: string) => parseImageManifest(read(dir, "manifest.json"));

describe("conversions agree with skopeo byte for byte", () => {
  test("schema 2 → OCI: the same manifest and the same rewritten config", async () => {
    const src = view("src");
    const r = await updateManifest(src, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE, configBytes: config });
    expect(r.bytes).toEqual(read("sk-oci", "manifest.json"));
    const cfg = r.newBlobs[0] as NewBlob;
    expect(cfg.bytes).toEqual(blob("sk-oci", cfg.digest));
  });

  test("schema 2 → schema 1: the same payload digest; skopeo reads and verifies what we sign", async () => {
    const src = view("src");
    const r = await updateManifest(src, { targetMIMEType: DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE, configBytes: config });
    expect(r.digest).toBe(view("sk-s1").digest);
    expect(r.digest).toBe(run(["manifest-digest", join(work, "sk-s1", "manifest.json")]).trim());
    writeImage("ours-s1", r.bytes, [...layers, ...r.newBlobs.map((b) => b.bytes)]);
    expect(run(["manifest-digest", join(work, "ours-s1", "manifest.json")]).trim()).toBe(r.digest);
    expect(JSON.parse(run(["inspect", `dir:${join(work, "ours-s1")}`])).Digest).toBe(r.digest);
    copy("v2s2", "ours-s1", "ours-s1-back");
    expect(view("ours-s1-back").layers.map((l) => l.digest)).toEqual(src.layers.map((l) => l.digest));
  });

  test("schema 1 → schema 2 and OCI: the same manifests and synthesised configs", async () => {
    const s1 = view("sk-s1");
    const layerInfos = s1.layers.map((l) => ({ digest: l.digest, size: blob("sk-s1", l.digest).byteLength }));
    const layerDiffIDs = s1.layers.map((l) => digestOf(gunzipSync(blob("sk-s1", l.digest))));
    const s2 = await updateManifest(s1, { targetMIMEType: DOCKER_SCHEMA2_MEDIA_TYPE, layerInfos, layerDiffIDs });
    expect(s2.bytes).toEqual(read("sk-s1-s2", "manifest.json"));
    expect(s2.newBlobs[0]?.bytes).toEqual(blob("sk-s1-s2", s2.newBlobs[0]?.digest as string));
    const oci = await updateManifest(s1, { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE, layerInfos, layerDiffIDs });
    expect(oci.bytes).toEqual(read("sk-s1-oci", "manifest.json"));
    expect(oci.newBlobs[0]?.bytes).toEqual(blob("sk-s1-oci", oci.newBlobs[0]?.digest as string));
  });

  test("skopeo reads the OCI image we convert", async () => {
    const r = await updateManifest(view("src"), { targetMIMEType: OCI_MANIFEST_MEDIA_TYPE, configBytes: config });
    writeImage("ours-oci", r.bytes, [...layers, ...r.newBlobs.map((b) => b.bytes)]);
    const out = JSON.parse(run(["inspect", `dir:${join(work, "ours-oci")}`]));
    expect(out.Digest).toBe(r.digest);
    expect(out.Labels["org.example.a"]).toBe("first");
  });
});

describe("manifestDigest() agrees with skopeo manifest-digest", () => {
  test.each(["src", "sk-oci", "sk-s1", "sk-s1-s2", "sk-s1-oci"])("for %s", (dir) => {
    const file = join(work, dir, "manifest.json");
    expect(manifestDigest(new Uint8Array(readFileSync(file)))).toBe(run(["manifest-digest", file]).trim());
  });
});

describe("inspectInfo() agrees with skopeo inspect", () => {
  test.each<[string, () => Uint8Array | undefined]>([
    ["src", () => config],
    ["sk-oci", () => undefined],
    ["sk-s1", () => undefined],
  ])("for %s (the keys skopeo 1.9 prints)", (dir, cfg) => {
    const v: ImageManifestView = view(dir);
    const configBytes = cfg() ?? (v.config ? blob(dir, v.config.digest) : undefined);
    const ours = inspectInfo(v, configBytes);
    const theirs = JSON.parse(run(["inspect", `dir:${join(work, dir)}`])) as Record<string, unknown>;
    for (const key of Object.keys(theirs)) {
      expect.soft((ours as unknown as Record<string, unknown>)[key], key).toEqual(theirs[key]);
    }
    expect(Object.keys(theirs)).toEqual(["Digest", "RepoTags", "Created", "DockerVersion", "Labels", "Architecture", "Os", "Layers", "Env"]);
  });
});
