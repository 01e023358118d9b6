import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { pack } from "tar-stream";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { makeTar } from "@stevedore/testing";
import { ArchiveLayoutStore } from "@stevedore/transport-oci-archive";
import { InvalidArchiveError, utf8 } from "@stevedore/types";
import { run, tempDir } from "./helpers.js";

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
});
afterEach(() => cleanup());

interface Spec {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "fifo";
  content?: Uint8Array;
  linkname?: string;
}

/** A tar made by tar-stream (ustar, pax for long names). */
async function tarStream(entries: readonly Spec[]): Promise<Uint8Array> {
  const p = pack();
  const chunks: Uint8Array[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Uint8Array);
  })();
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null) => (err ? reject(err) : resolve());
      if (e.type === undefined || e.type === "file") p.entry({ name: e.name, size: e.content?.length ?? 0 }, Buffer.from(e.content ?? new Uint8Array()), cb);
      else p.entry({ name: e.name, type: e.type, ...(e.linkname ? { linkname: e.linkname } : {}) }, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

async function index(bytes: Uint8Array): Promise<ArchiveLayoutStore> {
  const path = join(root, `t-${Math.random().toString(16).slice(2)}.tar`);
  await writeFile(path, bytes);
  return ArchiveLayoutStore.open(path, { bigFilesTemporaryDir: root }, `oci-archive:${path}`);
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  if (!(e instanceof Error)) throw new Error("expected a rejection");
  return e;
}

describe("ArchiveLayoutStore indexing", () => {
  test("property: every file tar-stream packs is found at its offset with its content", async () => {
    const seg = fc.stringMatching(/^[a-z0-9_.-]{1,40}$/).filter((s) => s !== "." && s !== "..");
    const name = fc.array(seg, { minLength: 1, maxLength: 5 }).map((s) => s.join("/"));
    const entry = fc.record({ name, size: fc.nat({ max: 3000 }), dotSlash: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(entry, { selector: (e) => e.name, minLength: 1, maxLength: 8 }), async (entries) => {
        // A name must not also be a directory of another name.
        const names = entries.map((e) => e.name);
        fc.pre(!names.some((a) => names.some((b) => b.startsWith(a + "/"))));
        const specs = entries.map((e, i) => ({ name: (e.dotSlash ? "./" : "") + e.name, content: new Uint8Array(e.size).fill(i + 1) }));
        const store = await index(await tarStream(specs));
        try {
          expect(store.entryNames().sort()).toEqual([...names].sort());
          for (const [i, e] of entries.entries()) {
            expect(await store.readMetadataFile(e.name, 1 << 20)).toEqual(new Uint8Array(e.size).fill(i + 1));
          }
        } finally {
          await store.close();
        }
      }),
      { numRuns: 40 },
    );
  });

  test("reads GNU tar archives (gnu and posix formats, ./ prefixes, long names)", async () => {
    const { mkdir } = await import("node:fs/promises");
    const long = "d".repeat(90) + "/" + "f".repeat(120);
    await mkdir(join(root, "tree", "d".repeat(90)), { recursive: true });
    await writeFile(join(root, "tree", long), "long");
    await writeFile(join(root, "tree", "index.json"), "{}");
    for (const format of ["gnu", "posix"]) {
      const out = join(root, `${format}.tar`);
      await run("tar", [`--format=${format}`, "-C", join(root, "tree"), "-cf", out, "."]);
      const store = await ArchiveLayoutStore.open(out, {}, out);
      try {
        expect(store.entryNames().sort()).toEqual(["d".repeat(90), long, "index.json"].sort());
        expect(await store.readMetadataFile(long, 100)).toEqual(utf8("long"));
      } finally {
        await store.close();
      }
    }
  });

  const hostile: [string, () => Promise<Uint8Array>, RegExp][] = [
    ["an entry with ../", () => tarStream([{ name: "blobs/../../escape", content: utf8("x") }]), /"\.\."/],
    ["an absolute name", () => tarStream([{ name: "/etc/passwd", content: utf8("x") }]), /absolute/],
    ["a symbolic link", () => tarStream([{ name: "index.json", type: "symlink", linkname: "/etc/passwd" }]), /symbolic link/],
    ["a hard link", () => tarStream([{ name: "a", content: utf8("x") }, { name: "index.json", type: "link", linkname: "a" }]), /hard link/],
    ["a device", () => tarStream([{ name: "dev", type: "character-device" }]), /character device/],
    ["a FIFO", () => tarStream([{ name: "fifo", type: "fifo" }]), /FIFO/],
    ["duplicate entries", () => tarStream([{ name: "index.json", content: utf8("{}") }, { name: "./index.json", content: utf8("{}") }]), /duplicate entry "index.json"/],
    ["a damaged header", async () => { const t = makeTar([{ name: "a", content: utf8("x") }]); t[10] = 0x41; return t; }, /checksum/],
    ["a truncated archive", async () => makeTar([{ name: "a", content: new Uint8Array(5000) }]).subarray(0, 2048), /truncated/],
    ["not a tar at all", async () => utf8("just some text, definitely not a tar archive".repeat(20)), /checksum/],
  ];
  for (const [what, make, message] of hostile) {
    test(`refuses ${what} with InvalidArchiveError naming it`, async () => {
      const e = await rejection(index(await make()));
      expect(e).toBeInstanceOf(InvalidArchiveError);
      expect(e.message).toMatch(message);
    });
  }
});
