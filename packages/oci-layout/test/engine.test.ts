import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import {
  DirectoryLayoutStore,
  acquireLayoutLock,
  openLayoutDestination,
  openLayoutImageSource,
  LAYOUT_LOCK_FILE,
} from "@stevedore/oci-layout";
import { imageDestinationConformance, imageSourceConformance, makeFixtureImage } from "@stevedore/testing";
import {
  AbortError,
  InvalidArchiveError,
  SizeLimitExceededError,
  defineTransport,
  digestOf,
  readAll,
  streamOf,
  utf8,
  type BlobInfoCache,
  type ImageReference,
} from "@stevedore/types";

const noCache: BlobInfoCache = {
  uncompressedDigest: () => undefined,
  recordDigestUncompressedPair() {},
  recordDigestCompressorName() {},
  recordKnownLocation() {},
  candidateLocations: () => [],
};

/** A plain reference value for the engine's sources and destinations (the transports supply real ones). */
function engineRef(dir: string): ImageReference {
  const transport = defineTransport({ name: "oci-engine-test", parseReference: () => engineRef(dir), validatePolicyConfigurationScope: () => {} });
  const ref: ImageReference = {
    transport,
    stringWithinTransport: () => dir,
    dockerReference: () => undefined,
    policyConfigurationIdentity: () => dir,
    policyConfigurationNamespaces: () => [],
    newImageSource: () => openLayoutImageSource({ reference: ref, store: new DirectoryLayoutStore(dir), selector: { name: "t" }, where: dir }),
    newImageDestination: () => openLayoutDestination({ reference: ref, dir, image: "t", where: dir }),
    deleteImage: () => Promise.reject(new Error("not used")),
  };
  return ref;
}

async function snapshot(path: string): Promise<string> {
  const out: string[] = [];
  const walk = async (p: string, rel: string): Promise<void> => {
    const st = await lstat(p);
    if (st.isDirectory()) {
      out.push(`d ${rel}`);
      for (const n of (await readdir(p)).sort()) await walk(join(p, n), `${rel}/${n}`);
    } else out.push(`f ${rel} ${createHash("sha256").update(await readFile(p)).digest("hex")}`);
  };
  try {
    await walk(path, ".");
  } catch {
    return "absent";
  }
  return out.join("\n");
}

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "stevedore-oci-layout-"));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const api = { describe, test, expect };

imageDestinationConformance(api, "oci-layout engine destination", async () => {
  const dir = join(await mkdtemp(join(tmpdir(), "stevedore-oci-layout-conf-")), "layout");
  const ref = engineRef(dir);
  return {
    open: () => ref.newImageDestination(),
    openSource: () => ref.newImageSource(),
    snapshot: () => snapshot(dir),
    cleanup: () => rm(join(dir, ".."), { recursive: true, force: true }),
  };
});

imageSourceConformance(api, "oci-layout engine source", async () => {
  const dir = join(await mkdtemp(join(tmpdir(), "stevedore-oci-layout-conf-")), "layout");
  const image = makeFixtureImage();
  const ref = engineRef(dir);
  const d = await ref.newImageDestination();
  for (const [dgst, b] of image.blobs) await d.putBlob(streamOf(b), { digest: dgst, size: b.length }, { cache: noCache });
  await d.putManifest(image.manifest);
  await d.commit();
  await d.close();
  return { source: await ref.newImageSource(), image, cleanup: () => rm(join(dir, ".."), { recursive: true, force: true }) };
});

describe("blob writing", () => {
  test("putBlob() stores exactly the bytes of streams cut into chunks of every size (batched, vectored writes)", async () => {
    // 3 MiB of non-repeating bytes, cut as: 200 one-byte chunks (more per batch
    // than one writev takes), then 64 KiB and odd-sized chunks, then one big one.
    const data = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 24;
    const sizes = [...Array<number>(200).fill(1), ...Array<number>(10).fill(65536), 1, 7, 300_001, 4096, 123_457];
    async function* chunks(): AsyncGenerator<Uint8Array> {
      let off = 0;
      for (const n of sizes) {
        yield data.subarray(off, off + n);
        off += n;
      }
      yield data.subarray(off);
    }
    const dir = join(root, "layout");
    const ref = engineRef(dir);
    const d = await ref.newImageDestination();
    const dgst = digestOf(data);
    await d.putBlob(chunks(), { digest: dgst, size: data.length }, { cache: noCache });
    const config = utf8("{}");
    await d.putBlob(streamOf(config), { digest: digestOf(config), size: config.length }, { cache: noCache, isConfig: true });
    const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", digest: dgst, size: data.length };
    const configDesc = { mediaType: "application/vnd.oci.image.config.v1+json", digest: digestOf(config), size: config.length };
    await d.putManifest(utf8(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: configDesc, layers: [layer] })));
    await d.commit();
    const stored = await readFile(join(dir, "blobs", "sha256", dgst.slice(7)));
    expect(stored.length).toBe(data.length);
    expect(digestOf(new Uint8Array(stored))).toBe(dgst);
    await d.close();
  });
});

describe("DirectoryLayoutStore", () => {
  test("readMetadataFile() refuses files over the limit without reading them, and symbolic links", async () => {
    await writeFile(join(root, "index.json"), "x".repeat(100));
    const s = new DirectoryLayoutStore(root);
    await expect(s.readMetadataFile("index.json", 99)).rejects.toBeInstanceOf(SizeLimitExceededError);
    expect(await s.readMetadataFile("index.json", 100)).toEqual(utf8("x".repeat(100)));
    expect(await s.readMetadataFile("oci-layout", 100)).toBeUndefined();
    await symlink(join(root, "index.json"), join(root, "oci-layout"));
    await expect(s.readMetadataFile("oci-layout", 100)).rejects.toBeInstanceOf(InvalidArchiveError);
  });

  test("openBlob() serves ranges and refuses a blob that is a symbolic link", async () => {
    const data = utf8("0123456789");
    const d = digestOf(data);
    await mkdir(join(root, "blobs", "sha256"), { recursive: true });
    await writeFile(join(root, "blobs", "sha256", d.slice(7)), data);
    const s = new DirectoryLayoutStore(root);
    const b = (await s.openBlob(d))!;
    expect(b.size).toBe(10);
    expect(await readAll(b.stream({ offset: 3, length: 4 }))).toEqual(utf8("3456"));
    expect(await readAll(b.stream({ offset: 8, length: -1 }))).toEqual(utf8("89"));
    const other = digestOf(utf8("other"));
    await symlink("/etc/hostname", join(root, "blobs", "sha256", other.slice(7)));
    await expect(s.openBlob(other)).rejects.toBeInstanceOf(InvalidArchiveError);
    expect(await s.openBlob(digestOf(utf8("absent")))).toBeUndefined();
  });

  test("a shared blob directory is where blobs are read from", async () => {
    const data = utf8("shared");
    const d = digestOf(data);
    await mkdir(join(root, "shared", "sha256"), { recursive: true });
    await writeFile(join(root, "shared", "sha256", d.slice(7)), data);
    expect((await new DirectoryLayoutStore(join(root, "layout"), join(root, "shared")).openBlob(d))?.size).toBe(6);
    expect(await new DirectoryLayoutStore(join(root, "layout")).openBlob(d)).toBeUndefined();
  });
});

describe("acquireLayoutLock()", () => {
  test("is exclusive: a second holder waits until the first releases", async () => {
    const order: string[] = [];
    const first = await acquireLayoutLock(root);
    const second = acquireLayoutLock(root).then((l) => {
      order.push("second acquired");
      return l;
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push("first releasing");
    await first.release();
    const l2 = await second;
    await l2.release();
    expect(order).toEqual(["first releasing", "second acquired"]);
    expect(await readdir(root)).toEqual([]);
  });

  test("waiting can be cancelled with AbortError", async () => {
    const held = await acquireLayoutLock(root);
    const ac = new AbortController();
    const waiting = acquireLayoutLock(root, { signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortError);
    await held.release();
  });

  test("a lock file nobody can read is broken after the grace period", async () => {
    await writeFile(join(root, LAYOUT_LOCK_FILE), "garbage");
    const { utimes } = await import("node:fs/promises");
    const old = new Date(Date.now() - 120_000);
    await utimes(join(root, LAYOUT_LOCK_FILE), old, old);
    const l = await acquireLayoutLock(root);
    await l.release();
    expect(await readdir(root)).toEqual([]);
  });
});
