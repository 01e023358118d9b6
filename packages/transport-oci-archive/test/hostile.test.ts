import { mkdir, open, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pack } from "tar-stream";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, makeTar, type FixtureImage } from "@stevedore/testing";
import {
  BlobUnknownError,
  DestinationExistsError,
  DigestMismatchError,
  InvalidArchiveError,
  InvalidDigestError,
  SizeLimitExceededError,
  readAll,
  utf8,
} from "@stevedore/types";
import { newOCIArchiveReference } from "@stevedore/transport-oci-archive";
import { noCache, run, snapshot, tempDir, writeLayoutByHand, writeWithDestination } from "./helpers.js";

let root: string;
let tmp: string;
let cleanup: () => Promise<void>;
let img: FixtureImage;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
  tmp = join(root, "tmp");
  await mkdir(tmp);
  img = makeFixtureImage();
});
afterEach(() => cleanup());

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  if (!(e instanceof Error)) throw new Error("expected a rejection");
  return e;
}

/** Tars a hand-written layout of `img` plus extra entries (made with tar-stream). */
async function archiveWith(file: string, extra: { name: string; type?: "symlink" | "link"; linkname?: string; content?: Uint8Array }[], tweak?: (dir: string) => Promise<void>): Promise<void> {
  const dir = join(root, `layout-${Math.random().toString(16).slice(2)}`);
  await writeLayoutByHand(dir, img, "t");
  await tweak?.(dir);
  const p = pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Uint8Array);
  })();
  const add = (h: Parameters<typeof p.entry>[0], body?: Uint8Array) =>
    new Promise<void>((resolve, reject) => {
      const cb = (e?: Error | null) => (e ? reject(e) : resolve());
      if (body) p.entry(h, Buffer.from(body), cb);
      else p.entry(h, cb);
    });
  const files = ["oci-layout", "index.json", ...(await readdir(join(dir, "blobs", "sha256"))).map((h) => `blobs/sha256/${h}`)];
  for (const f of files) {
    const b = await readFile(join(dir, f)).catch(() => undefined);
    if (b) await add({ name: f, size: b.length }, b);
  }
  for (const e of extra) await add(e.type ? { name: e.name, type: e.type, linkname: e.linkname! } : { name: e.name, size: e.content!.length }, e.content);
  p.finalize();
  await done;
  await writeFile(file, Buffer.concat(chunks));
}

const ctx = () => ({ bigFilesTemporaryDir: tmp });

describe("hostile oci-archive: sources", () => {
  for (const [what, extra, message] of [
    ["an entry with ../", [{ name: "../escape", content: utf8("x") }], /"\.\."/],
    ["an absolute entry", [{ name: "/tmp/escape", content: utf8("x") }], /absolute/],
    ["a symbolic link out", [{ name: "blobs/sha256/link", type: "symlink" as const, linkname: "/etc/passwd" }], /symbolic link/],
    ["a hard link", [{ name: "hard", type: "link" as const, linkname: "/etc/passwd" }], /hard link/],
    ["a duplicate index.json", [{ name: "./index.json", content: utf8("{}") }], /duplicate entry "index.json"/],
  ] as const) {
    test(`${what}: InvalidArchiveError naming the entry, nothing written anywhere`, async () => {
      const file = join(root, "a.tar");
      await archiveWith(file, [...extra]);
      const before = await snapshot(root);
      const e = await rejection(newOCIArchiveReference(file, "t").newImageSource(ctx()));
      expect(e).toBeInstanceOf(InvalidArchiveError);
      expect(e.message).toMatch(message);
      expect(await snapshot(root)).toBe(before);
    });
  }

  test("the same inside a gzip-compressed archive: refused, and the decompressed copy is removed", async () => {
    const file = join(root, "a.tar");
    await archiveWith(file, [{ name: "../../escape", content: utf8("x") }]);
    await run("gzip", ["-k", file]);
    const e = await rejection(newOCIArchiveReference(`${file}.gz`, "t").newImageSource(ctx()));
    expect(e).toBeInstanceOf(InvalidArchiveError);
    expect(await readdir(tmp)).toEqual([]);
  });

  test("a 100 MiB index.json: SizeLimitExceededError without reading it", async () => {
    const file = join(root, "big.tar");
    const header = makeTar([{ name: "index.json", content: new Uint8Array(1) }]).subarray(0, 512);
    const size = 100 * 1024 * 1024;
    header.set(utf8(size.toString(8).padStart(11, "0") + "\0"), 124);
    header.set(utf8("        "), 148);
    let sum = 0;
    for (const b of header) sum += b;
    header.set(utf8(sum.toString(8).padStart(6, "0") + "\0 "), 148);
    const fh = await open(file, "w");
    await fh.write(header, 0, 512, 0);
    await fh.truncate(512 + size + 1024); // data and end marker: zeros (a sparse file)
    await fh.close();
    const e = await rejection(newOCIArchiveReference(file).newImageSource(ctx()));
    expect(e).toBeInstanceOf(SizeLimitExceededError);
    expect(e.message).toContain("index.json");
  });

  test("a missing or corrupted blob: typed errors naming the digest", async () => {
    const l = img.layers[0]!;
    const missing = join(root, "missing.tar");
    await archiveWith(missing, [], async (dir) => {
      const { rm } = await import("node:fs/promises");
      await rm(join(dir, "blobs", "sha256", l.digest.slice(7)));
    });
    const s = await newOCIArchiveReference(missing, "t").newImageSource(ctx());
    try {
      const e = await rejection(s.getBlob({ digest: l.digest, size: l.size }, noCache).then((r) => readAll(r.stream)));
      expect(e).toBeInstanceOf(BlobUnknownError);
      expect(e.message).toContain(l.digest);
    } finally {
      await s.close();
    }
    const corrupt = join(root, "corrupt.tar");
    await archiveWith(corrupt, [], async (dir) => {
      const p = join(dir, "blobs", "sha256", l.digest.slice(7));
      const b = await readFile(p);
      b[50] = b[50]! ^ 1;
      await writeFile(p, b);
    });
    const s2 = await newOCIArchiveReference(corrupt, "t").newImageSource(ctx());
    try {
      const e = await rejection(s2.getBlob({ digest: l.digest, size: l.size }, noCache).then((r) => readAll(r.stream)));
      expect(e).toBeInstanceOf(DigestMismatchError);
      expect(e.message).toContain(l.digest);
    } finally {
      await s2.close();
    }
  });

  test("an invalid digest in index.json: InvalidDigestError naming it", async () => {
    const file = join(root, "bad.tar");
    await archiveWith(file, [], async (dir) => {
      await writeFile(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ mediaType: img.mimeType, digest: "sha256:../../x", size: 1 }] }));
    });
    const e = await rejection(newOCIArchiveReference(file).newImageSource(ctx()));
    expect(e).toBeInstanceOf(InvalidDigestError);
    expect(e.message).toContain("sha256:../../x");
  });

  test("a copy from a broken archive leaves an existing destination archive byte-identical and nothing in the temporary directory", async () => {
    const dest = join(root, "dest.tar");
    await writeWithDestination(newOCIArchiveReference(dest, "old"), makeFixtureImage(), ctx());
    const before = await readFile(dest);
    const broken = join(root, "broken.tar");
    const l = img.layers[1]!;
    await archiveWith(broken, [], async (dir) => {
      const { rm } = await import("node:fs/promises");
      await rm(join(dir, "blobs", "sha256", l.digest.slice(7)));
    });
    await expect(
      copyImage(undefined, newOCIArchiveReference(dest, "new"), newOCIArchiveReference(broken, "t"), { sourceCtx: ctx(), destinationCtx: ctx() }),
    ).rejects.toBeInstanceOf(BlobUnknownError);
    expect(await readFile(dest)).toEqual(before);
    expect(await readdir(tmp)).toEqual([]);
    expect((await readdir(root)).filter((n) => n.includes("stevedore"))).toEqual([]);
  });
});

describe("hostile oci-archive: destinations", () => {
  test("a destination that is a directory fails with DestinationExistsError", async () => {
    await mkdir(join(root, "dir.tar"));
    await expect(newOCIArchiveReference(join(root, "dir.tar"), "t").newImageDestination(ctx())).rejects.toBeInstanceOf(DestinationExistsError);
    expect(await readdir(tmp)).toEqual([]);
  });
});
