// An interrupted copy — cancelled through its AbortSignal, or the process
// killed with SIGKILL at chosen points — leaves an existing image intact (or,
// during the commit's renames, either the old or the new image, complete)
// and a new directory absent or complete; the next write clears leftovers.
import { spawn } from "node:child_process";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, type FixtureImage } from "@stevedore/testing";
import { AbortError, digestOf, readAll } from "@stevedore/types";
import { newDirReference } from "@stevedore/transport-dir";
import { noCache, snapshot, tempDir, writeDirByHand, writeWithDestination } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/copy-child.mjs", import.meta.url));
const BIG = { layers: 3, layerSize: 2 * 1024 * 1024 };

let t: { dir: string; cleanup: () => Promise<void> };
beforeEach(async () => {
  t = await tempDir();
});
afterEach(() => t.cleanup());

/** Runs the child until it prints FROZEN (then SIGKILLs it) or DONE. */
function runChild(src: string, dest: string, at: string): Promise<"killed" | "done"> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, src, dest, at], { cwd: dirname(CHILD), stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let killed = false;
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("FROZEN") && !killed) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (b: Buffer) => (err += b.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (killed && signal === "SIGKILL") resolve("killed");
      else if (code === 0 && out.includes("DONE")) resolve("done");
      else reject(new Error(`child exited with ${code ?? signal}: ${err}`));
    });
  });
}

function dirname(p: string): string {
  return p.slice(0, p.lastIndexOf("/"));
}

/** Which image the directory holds, checked completely (every blob read and verified); throws when none is complete. */
async function holds(dir: string, candidates: FixtureImage[]): Promise<FixtureImage> {
  const s = await newDirReference(dir).newImageSource();
  try {
    const m = await s.getManifest();
    const img = candidates.find((c) => c.digest === digestOf(m.bytes));
    if (!img) throw new Error(`${dir} holds an unexpected manifest`);
    for (const [d, b] of img.blobs) expect(digestOf(await readAll((await s.getBlob({ digest: d, size: b.length }, noCache)).stream))).toBe(d);
    return img;
  } finally {
    await s.close();
  }
}

async function setup(): Promise<{ src: string; dest: string; old: FixtureImage; img: FixtureImage }> {
  const img = makeFixtureImage(BIG);
  const old = makeFixtureImage({ layers: 2 });
  const src = join(t.dir, "src");
  const dest = join(t.dir, "dest");
  await writeDirByHand(src, img);
  await writeWithDestination(newDirReference(dest), old);
  return { src, dest, old, img };
}

describe("an aborted copy", () => {
  test("into an existing image leaves it byte-identical and removes the staging directory", async () => {
    const { src, dest } = await setup();
    const before = await snapshot(dest);
    const ac = new AbortController();
    const err = await copyImage(undefined, newDirReference(dest), newDirReference(src), {
      signal: ac.signal,
      progress: (e) => {
        if (e.type === "artifact-bytes" && e.offset >= 1024 * 1024) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    expect(await snapshot(dest)).toBe(before);
  });

  test("into a new directory leaves nothing behind", async () => {
    const { src } = await setup();
    const dest = join(t.dir, "fresh");
    const ac = new AbortController();
    await expect(
      copyImage(undefined, newDirReference(dest), newDirReference(src), {
        signal: ac.signal,
        progress: (e) => {
          if (e.type === "artifact-bytes" && e.offset >= 1024 * 1024) ac.abort();
        },
      }),
    ).rejects.toBeInstanceOf(AbortError);
    expect((await readdir(t.dir)).sort()).toEqual(["dest", "src"]);
  });
});

describe("a copy killed with SIGKILL", () => {
  test("mid-blob: the existing image stays byte-identical (the staging directory aside), and the next write clears the leftovers", async () => {
    const { src, dest, old, img } = await setup();
    const before = await snapshot(dest);
    expect(await runChild(src, dest, `bytes:${1024 * 1024}`)).toBe("killed");
    const leftovers = (await readdir(dest)).filter((n) => n.startsWith(".stevedore-staging-"));
    expect(leftovers).toHaveLength(1);
    expect((await readdir(join(dest, leftovers[0]!))).some((n) => n.startsWith(".tmp-blob-"))).toBe(true);
    expect(await snapshot(dest, { ignoreStaging: true })).toBe(before);
    expect(await holds(dest, [old])).toBe(old);
    // The next copy succeeds and removes the dead writer's staging directory.
    await copyImage(undefined, newDirReference(dest), newDirReference(src));
    expect((await readdir(dest)).filter((n) => n.includes("staging"))).toEqual([]);
    expect(await holds(dest, [img])).toBe(img);
  });

  test("mid-blob into a new directory: the directory does not exist", async () => {
    const { src } = await setup();
    const dest = join(t.dir, "fresh");
    expect(await runChild(src, dest, `bytes:${1024 * 1024}`)).toBe("killed");
    expect(await snapshot(dest)).toBe("absent");
    await copyImage(undefined, newDirReference(dest), newDirReference(src));
    expect((await readdir(t.dir)).sort()).toEqual(["dest", "fresh", "src"]);
  });

  test("at the commit's rename into a new directory: absent before it, complete after", async () => {
    const { src, img } = await setup();
    const dest = join(t.dir, "fresh");
    expect(await runChild(src, dest, "rename:0")).toBe("killed");
    expect(await snapshot(dest)).toBe("absent");
    expect(await runChild(src, join(t.dir, "fresh2"), "rename:1")).toBe("done");
    expect(await holds(join(t.dir, "fresh2"), [img])).toBe(img);
  });

  test("between any two of the commit's renames: the directory holds the old or the new image, complete", async () => {
    const { src, old, img } = await setup();
    // version + 3 layers + config + manifest.json = 6 renames into the directory.
    const seen = new Set<string>();
    for (let k = 0; k <= 6; k++) {
      const dest = join(t.dir, `dest-${k}`);
      await writeWithDestination(newDirReference(dest), old);
      const outcome = await runChild(src, dest, `rename:${k}`);
      expect(outcome).toBe(k < 6 ? "killed" : "done");
      const got = await holds(dest, [old, img]);
      seen.add(got === old ? "old" : "new");
      if (k < 6) expect(got).toBe(old); // manifest.json is the 6th rename (k = 5): the switch
      else expect(got).toBe(img);
      expect(await readFile(join(dest, "version"), "utf8")).toBe("Directory Transport Version: 1.1\n");
    }
    expect([...seen].sort()).toEqual(["new", "old"]);
  });
});
