import { spawn } from "node:child_process";
import { chmod, stat, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, type FixtureImage } from "@stevedore/testing";
import { newDockerArchiveReference } from "@stevedore/transport-docker-archive";
import { AbortError, fromUtf8 } from "@stevedore/types";
import { namesIn, removeDir, tempDir, writeImage } from "./helpers.js";

let root = "";
let sourceArchive = "";
let img: FixtureImage;
beforeAll(async () => {
  root = await tempDir("da-atomic-");
  img = makeFixtureImage({ format: "docker", gzip: false, layers: 3, layerSize: 4 * 1024 * 1024 });
  sourceArchive = join(root, "source.tar");
  const dest = await newDockerArchiveReference(sourceArchive, "example.com/big:1").newImageDestination();
  try {
    await writeImage(dest, img);
    await dest.commit();
  } finally {
    await dest.close();
  }
});
afterAll(async () => {
  await removeDir(root);
});

let n = 0;
async function targetDir(): Promise<string> {
  const d = join(root, `t${n++}`);
  await import("node:fs/promises").then((fs) => fs.mkdir(d));
  return d;
}

async function expectValidArchive(path: string): Promise<void> {
  const src = await newDockerArchiveReference(path).newImageSource();
  try {
    const m = JSON.parse(fromUtf8((await src.getManifest()).bytes)) as { layers: { digest: string }[] };
    expect(m.layers.map((l) => l.digest)).toEqual(img.diffIDs);
  } finally {
    await src.close();
  }
}

describe("an interrupted copy", () => {
  test.each([
    ["a new target is left absent", false],
    ["an existing empty target is left byte-identical, with its permissions", true],
  ])("copyImage() aborted after the first bytes fails with AbortError: %s", async (_, existing) => {
    const d = await targetDir();
    const target = join(d, "out.tar");
    if (existing) {
      await writeFile(target, "");
      await chmod(target, 0o640);
    }
    const ac = new AbortController();
    const err = await copyImage(undefined, newDockerArchiveReference(target, "example.com/out:1"), newDockerArchiveReference(sourceArchive), {
      signal: ac.signal,
      progress: (e) => {
        if (e.type === "artifact-bytes") ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AbortError);
    if (existing) {
      expect(await namesIn(d)).toEqual(["out.tar"]);
      const st = await stat(target);
      expect(st.size).toBe(0);
      expect(st.mode & 0o777).toBe(0o640);
    } else {
      expect(await namesIn(d)).toEqual([]);
    }
  });

  test.each([
    ["a new target is left absent", false],
    ["an existing empty target is left byte-identical", true],
  ])("a copy process killed with SIGKILL mid-copy: %s; the leftover temp file is removed by the next write", async (_, existing) => {
    const d = await targetDir();
    const target = join(d, "out.tar");
    if (existing) await writeFile(target, "");
    const req = createRequire(join(import.meta.dirname, "..", "package.json"));
    const copyURL = pathToFileURL(req.resolve("@stevedore/copy")).href;
    const transportURL = pathToFileURL(req.resolve("@stevedore/transport-docker-archive")).href;
    const script = join(d, "..", `child-${n}.mjs`);
    await writeFile(
      script,
      `import { writeSync } from "node:fs";
import { copyImage } from ${JSON.stringify(copyURL)};
import { newDockerArchiveReference } from ${JSON.stringify(transportURL)};
await copyImage(undefined, newDockerArchiveReference(process.argv[3], "example.com/out:1"), newDockerArchiveReference(process.argv[2]), {
  progress: (e) => {
    if (e.type === "artifact-bytes") {
      writeSync(1, "progress\\n");
      // Freeze mid-copy until the parent kills this process.
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
    }
  },
});
writeSync(1, "done\\n");
`,
    );
    const child = spawn(process.execPath, [script, sourceArchive, target], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
    const seen = await new Promise<string>((resolve) => {
      let out = "";
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        if (out.includes("progress") || out.includes("done")) resolve(out);
      });
      child.on("exit", () => resolve(out));
    });
    expect(seen, stderr).toContain("progress");
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const names = await namesIn(d);
    const leftovers = names.filter((x) => x.startsWith(".out.tar.stevedore-tmp-"));
    expect(leftovers).toEqual([expect.stringMatching(new RegExp(`^\\.out\\.tar\\.stevedore-tmp-${child.pid}-[0-9a-f]{16}$`))]);
    if (existing) {
      expect((await stat(target)).size).toBe(0);
    } else {
      expect(names.includes("out.tar")).toBe(false);
    }

    // The next write removes the dead process's temp file, then succeeds.
    await copyImage(undefined, newDockerArchiveReference(target, "example.com/out:1"), newDockerArchiveReference(sourceArchive));
    expect(await namesIn(d)).toEqual(["out.tar"]);
    await expectValidArchive(target);
  });
});
