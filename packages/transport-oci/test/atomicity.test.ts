import { spawn, type ChildProcess } from "node:child_process";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage } from "@stevedore/testing";
import { AbortError, digestOf, streamOf } from "@stevedore/types";
import { newOCIReference } from "@stevedore/transport-oci";
import { layoutNames, noCache, snapshot, tempDir, writeWithDestination } from "./helpers.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "child.mjs");

let root: string;
let cleanup: () => Promise<void>;
const children: ChildProcess[] = [];
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
});
afterEach(async () => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  await cleanup();
});

/** Starts the child script; `lines` yields its stdout lines; `exit` resolves with its code/signal. */
function child(...args: string[]) {
  const c = spawn(process.execPath, [CHILD, ...args], { stdio: ["pipe", "pipe", "pipe"] });
  children.push(c);
  let stderr = "";
  c.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const rl = createInterface({ input: c.stdout! });
  const seen: string[] = [];
  const waiters: { line: string; resolve: () => void }[] = [];
  rl.on("line", (l) => {
    seen.push(l);
    for (const w of waiters.filter((x) => x.line === l)) w.resolve();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    c.on("exit", (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    process: c,
    exit,
    waitFor: (line: string) =>
      new Promise<void>((resolve, reject) => {
        if (seen.includes(line)) return resolve();
        waiters.push({ line, resolve });
        void exit.then((e) => reject(new Error(`child exited (${e.code ?? e.signal}) before printing "${line}": ${e.stderr}`)));
      }),
  };
}

async function sourceWith(name: string, layers = 3) {
  const img = makeFixtureImage({ layers, layerSize: 256 * 1024 });
  await writeWithDestination(newOCIReference(join(root, "src"), name), img);
  return img;
}

describe("aborting a copy", () => {
  test("an abort after the first progress event leaves an existing layout byte-identical and a new one absent", async () => {
    await sourceWith("s");
    const existing = join(root, "existing");
    await writeWithDestination(newOCIReference(existing, "old"), makeFixtureImage());
    const before = await snapshot(existing);
    for (const [dest, expected] of [
      [existing, before],
      [join(root, "fresh"), "absent"],
    ] as const) {
      const ac = new AbortController();
      let events = 0;
      const p = copyImage(undefined, newOCIReference(dest, "new"), newOCIReference(join(root, "src"), "s"), {
        signal: ac.signal,
        maxParallelDownloads: 1,
        progress: (e) => {
          if (e.type === "artifact-bytes" && ++events === 1) ac.abort();
        },
      });
      await expect(p).rejects.toBeInstanceOf(AbortError);
      expect(events).toBeGreaterThan(0);
      expect(await snapshot(dest)).toBe(expected);
    }
    expect((await readdir(root)).sort()).toEqual(["existing", "src"]);
  });
});

describe("a copy killed with SIGKILL", () => {
  test("leaves an existing layout as it was (except a .stevedore- staging directory, removed by the next writer)", async () => {
    await sourceWith("s");
    const existing = join(root, "existing");
    await writeWithDestination(newOCIReference(existing, "old"), makeFixtureImage());
    const before = await snapshot(existing);
    const c = child("stall", `${join(root, "src")}:s`, `${existing}:new`);
    await c.waitFor("stalled");
    // The first layer and the config are staged by now: the staging directory holds blob files.
    const staging = (await readdir(existing)).filter((n) => n.startsWith(".stevedore-staging-"));
    expect(staging).toHaveLength(1);
    expect((await readdir(join(existing, staging[0]!, "blobs", "sha256"))).length).toBeGreaterThan(0);
    c.process.kill("SIGKILL");
    expect((await c.exit).signal).toBe("SIGKILL");
    expect(await snapshot(existing, { ignoreTemporaries: true })).toBe(before);
    expect(await layoutNames(existing)).toEqual(["old"]);
    // The next destination on this layout removes what the dead process left.
    const d = await newOCIReference(existing, "other").newImageDestination();
    await d.close();
    expect(await snapshot(existing)).toBe(before);
  });

  test("leaves a new layout absent (its staging directory next to it is removed by the next writer)", async () => {
    await sourceWith("s");
    const fresh = join(root, "fresh");
    const c = child("stall", `${join(root, "src")}:s`, `${fresh}:new`);
    await c.waitFor("stalled");
    c.process.kill("SIGKILL");
    expect((await c.exit).signal).toBe("SIGKILL");
    expect(await snapshot(fresh)).toBe("absent");
    expect((await readdir(root)).filter((n) => n.startsWith(".fresh.stevedore-staging-"))).toHaveLength(1);
    const img = makeFixtureImage();
    await writeWithDestination(newOCIReference(fresh, "later"), img);
    expect((await readdir(root)).sort()).toEqual(["fresh", "src"]);
    expect(await layoutNames(fresh)).toEqual(["later"]);
  });

  test("a lock held by a process killed with SIGKILL does not block the next commit", async () => {
    const layout = join(root, "l");
    await writeWithDestination(newOCIReference(layout, "a"), makeFixtureImage());
    const c = child("lock", layout, "never");
    await c.waitFor("locked");
    c.process.kill("SIGKILL");
    await c.exit;
    expect(await readdir(layout)).toContain(".stevedore-lock");
    await writeWithDestination(newOCIReference(layout, "b"), makeFixtureImage());
    expect(await layoutNames(layout)).toEqual(["a", "b"]);
    expect(await readdir(layout)).not.toContain(".stevedore-lock");
  });
});

describe("concurrent writers in several processes", () => {
  test("a commit waits for another process's lock and re-reads index.json under it, so both changes land", async () => {
    const layout = join(root, "l");
    const img = makeFixtureImage();
    await writeWithDestination(newOCIReference(layout, "a"), makeFixtureImage());
    const holder = child("lock", layout, "from-child");
    await holder.waitFor("locked");
    // The holder remembered index.json; our commit must not slip in before it writes. Give an
    // unlocked commit ample opportunity to do so (it would then be lost when the holder writes).
    const d = await newOCIReference(layout, "ours").newImageDestination();
    try {
      for (const l of img.layers) await d.putBlob(streamOf(l.bytes), { digest: l.digest, size: l.size }, { cache: noCache });
      await d.putBlob(streamOf(img.config.bytes), { digest: img.config.digest, size: img.config.size }, { cache: noCache });
      await d.putManifest(img.manifest);
      const committing = d.commit();
      let settled = false;
      void committing.then(() => (settled = true), () => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      holder.process.stdin!.write("go\n");
      await holder.waitFor("released");
      await committing;
    } finally {
      await d.close();
    }
    expect((await holder.exit).code).toBe(0);
    expect(await layoutNames(layout)).toEqual(["a", "from-child", "ours"]);
  });

  test("two processes copying different images into one layout at once: both are in index.json", async () => {
    const src = join(root, "src");
    const one = await sourceWith("one", 4);
    const two = await sourceWith("two", 4);
    const layout = join(root, "shared-layout");
    await writeWithDestination(newOCIReference(layout, "base"), makeFixtureImage());
    for (let round = 0; round < 3; round++) {
      const a = child("copy", `${src}:one`, `${layout}:one-${round}`);
      const b = child("copy", `${src}:two`, `${layout}:two-${round}`);
      const [ea, eb] = await Promise.all([a.exit, b.exit]);
      expect(ea.code, ea.stderr).toBe(0);
      expect(eb.code, eb.stderr).toBe(0);
    }
    const names = await layoutNames(layout);
    expect(names.sort()).toEqual(["base", "one-0", "one-1", "one-2", "two-0", "two-1", "two-2"]);
    const s = await newOCIReference(layout, "two-2").newImageSource();
    try {
      expect(digestOf((await s.getManifest()).bytes)).toBe(two.digest);
    } finally {
      await s.close();
    }
    expect(one.digest).not.toBe(two.digest);
    expect((await readdir(layout)).filter((n) => n.startsWith("."))).toEqual([]);
  });
});
