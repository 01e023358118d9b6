import { spawn } from "node:child_process";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage } from "@stevedore/testing";
import { AbortError } from "@stevedore/types";
import { newOCIArchiveReference } from "@stevedore/transport-oci-archive";
import { snapshot, tempDir, writeWithDestination } from "./helpers.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "fixtures", "child.mjs");

let root: string;
let tmp: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  const t = await tempDir();
  root = t.dir;
  cleanup = t.cleanup;
  tmp = join(root, "tmp");
  await mkdir(tmp);
  await mkdir(join(root, "out"));
});
afterEach(() => cleanup());

async function source(): Promise<string> {
  const file = join(root, "src.tar");
  await writeWithDestination(newOCIArchiveReference(file, "s"), makeFixtureImage({ layers: 3, layerSize: 256 * 1024 }), { bigFilesTemporaryDir: tmp });
  return file;
}

describe("oci-archive atomicity", () => {
  test("an aborted copy leaves an existing archive byte-identical, a new one absent, and no temporary files", async () => {
    const src = await source();
    const existing = join(root, "out", "existing.tar");
    await writeWithDestination(newOCIArchiveReference(existing, "old"), makeFixtureImage(), { bigFilesTemporaryDir: tmp });
    const before = await snapshot(join(root, "out"));
    for (const dest of [existing, join(root, "out", "fresh.tar")]) {
      const ac = new AbortController();
      let events = 0;
      await expect(
        copyImage(undefined, newOCIArchiveReference(dest, "new"), newOCIArchiveReference(src, "s"), {
          signal: ac.signal,
          maxParallelDownloads: 1,
          destinationCtx: { bigFilesTemporaryDir: tmp },
          progress: (e) => {
            if (e.type === "artifact-bytes" && ++events === 1) ac.abort();
          },
        }),
      ).rejects.toBeInstanceOf(AbortError);
      expect(events).toBeGreaterThan(0);
    }
    expect(await snapshot(join(root, "out"))).toBe(before);
    expect(await readdir(tmp)).toEqual([]);
  });

  test("a copy killed with SIGKILL leaves the archive byte-identical; the next writer removes its temporary layout", async () => {
    const src = await source();
    const existing = join(root, "out", "existing.tar");
    await writeWithDestination(newOCIArchiveReference(existing, "old"), makeFixtureImage(), { bigFilesTemporaryDir: tmp });
    const before = await readFile(existing);
    const c = spawn(process.execPath, [CHILD, "stall", `${src}:s`, `${existing}:new`, tmp], { stdio: ["ignore", "pipe", "pipe"] });
    try {
      let stderr = "";
      c.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      await new Promise<void>((resolve, reject) => {
        createInterface({ input: c.stdout }).on("line", (l) => l === "stalled" && resolve());
        c.on("exit", () => reject(new Error(`child exited early: ${stderr}`)));
      });
      expect((await readdir(tmp)).some((n) => n.startsWith("stevedore-oci-archive-layout-"))).toBe(true);
    } finally {
      c.kill("SIGKILL");
    }
    await new Promise((r) => c.on("exit", r));
    expect(c.signalCode).toBe("SIGKILL");
    expect(await readFile(existing)).toEqual(before);
    expect(await readdir(join(root, "out"))).toEqual(["existing.tar"]);
    // The next destination removes the dead process's temporary layout.
    const d = await newOCIArchiveReference(existing, "x").newImageDestination({ bigFilesTemporaryDir: tmp });
    await d.close();
    expect(await readdir(tmp)).toEqual([]);
    expect(await readFile(existing)).toEqual(before);
  });

  test("a committed archive replaces the old one in one rename and keeps its file mode", async () => {
    const file = join(root, "out", "a.tar");
    await writeWithDestination(newOCIArchiveReference(file, "one"), makeFixtureImage(), { bigFilesTemporaryDir: tmp });
    const { chmod, stat } = await import("node:fs/promises");
    await chmod(file, 0o600);
    const inode = (await stat(file)).ino;
    await writeWithDestination(newOCIArchiveReference(file, "two"), makeFixtureImage(), { bigFilesTemporaryDir: tmp });
    const st = await stat(file);
    expect(st.mode & 0o777).toBe(0o600);
    expect(st.ino).not.toBe(inode);
    expect(await readdir(join(root, "out"))).toEqual(["a.tar"]);
    expect(await readdir(tmp)).toEqual([]);
  });
});
