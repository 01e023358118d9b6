import { open, readFile, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { copyImage } from "@stevedore/copy";
import { makeFixtureImage, makeTar, type FixtureImage } from "@stevedore/testing";
import { newDockerArchiveReference } from "@stevedore/transport-docker-archive";
import {
  DigestMismatchError,
  InvalidArchiveError,
  SizeLimitExceededError,
  StevedoreError,
  digestHex,
  readAll,
  utf8,
} from "@stevedore/types";
import { dockerArchiveEntries, namesIn, noCache, packTar, removeDir, tempDir, tool, type PackEntry } from "./helpers.js";

let dir = "";
let outDir = "";
let bigDir = "";
beforeEach(async () => {
  dir = await tempDir("da-hostile-");
  outDir = join(dir, "out");
  bigDir = join(dir, "big");
  const fs = await import("node:fs/promises");
  await fs.mkdir(outDir);
  await fs.mkdir(bigDir);
});
afterEach(async () => {
  await removeDir(dir);
});

const img: FixtureImage = makeFixtureImage({ format: "docker", gzip: false, layers: 2 });

/** A normal archive's entries with `change` applied to them and to manifest.json. */
async function archiveWith(change: (entries: PackEntry[], manifest: { Config: string; RepoTags: string[]; Layers: string[] }) => PackEntry[] | void): Promise<string> {
  const { entries, manifest } = dockerArchiveEntries([{ img, repoTags: ["example.com/h:1"] }]);
  const m = manifest[0] as { Config: string; RepoTags: string[]; Layers: string[] };
  const changed = change(entries, m) ?? entries;
  const path = join(dir, "hostile.tar");
  await writeFile(path, await packTar([...changed, { name: "manifest.json", content: JSON.stringify([m]) }]));
  return path;
}

/**
 * Opening the archive (and copying it to a new docker-archive) fails with
 * `cls` and a message matching `message`; nothing is written anywhere but
 * temp dirs, which are gone afterwards.
 */
async function expectRefused(path: string, cls: abstract new (...args: never[]) => StevedoreError, message: RegExp): Promise<void> {
  const src = newDockerArchiveReference(path);
  const err = await (async () => {
    const s = await src.newImageSource({ bigFilesTemporaryDir: bigDir });
    try {
      const m = JSON.parse(new TextDecoder().decode((await s.getManifest()).bytes)) as { layers: { digest: string; size: number }[] };
      for (const l of m.layers) await readAll((await s.getBlob({ digest: l.digest as never, size: l.size }, noCache)).stream);
    } finally {
      await s.close();
    }
  })().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(message);
  const dest = newDockerArchiveReference(join(outDir, "copy.tar"), "example.com/copy:1");
  await expect(copyImage(undefined, dest, src, { sourceCtx: { bigFilesTemporaryDir: bigDir } })).rejects.toBeInstanceOf(cls);
  expect(await namesIn(outDir)).toEqual([]);
  expect(await namesIn(bigDir)).toEqual([]);
}

describe("hostile archives", () => {
  test("an entry named with ../ is refused, naming it", async () => {
    const path = await archiveWith((entries) => [...entries, { name: "../../evil", content: "x" }]);
    await expectRefused(path, InvalidArchiveError, /"\.\.\/\.\.\/evil" points outside the archive/);
  });

  test("a manifest.json layer path with ../ is refused, naming it", async () => {
    const path = await archiveWith((_, m) => {
      m.Layers[0] = "../" + m.Layers[0];
    });
    await expectRefused(path, InvalidArchiveError, /layer path "\.\.\/.*layer\.tar" points outside the archive/);
  });

  test("an entry with an absolute path is refused, naming it", async () => {
    const path = await archiveWith((entries) => [...entries, { name: "/etc/cron.d/evil", content: "x" }]);
    await expectRefused(path, InvalidArchiveError, /"\/etc\/cron\.d\/evil" has an absolute path/);
  });

  test("a symlink pointing outside the archive is refused, naming it", async () => {
    const path = await archiveWith((entries) => [...entries, { name: "x/layer.tar", type: "symlink", linkname: "../../../etc/passwd" }]);
    await expectRefused(path, InvalidArchiveError, /symbolic link "x\/layer\.tar" points to "\.\.\/\.\.\/\.\.\/etc\/passwd", outside the archive/);
  });

  test("a symlink to an absolute path is refused, naming it", async () => {
    const path = await archiveWith((entries) => [...entries, { name: "x/layer.tar", type: "symlink", linkname: "/etc/passwd" }]);
    await expectRefused(path, InvalidArchiveError, /symbolic link "x\/layer\.tar" points to the absolute path "\/etc\/passwd"/);
  });

  test("a hard link pointing outside the archive is refused, naming it", async () => {
    const path = await archiveWith((entries) => [...entries, { name: "hl", type: "link", linkname: "../outside" }]);
    await expectRefused(path, InvalidArchiveError, /hard link "hl" points to "\.\.\/outside", outside the archive/);
  });

  test("a layer that is a hard link to another entry is refused as not a regular file", async () => {
    const path = await archiveWith((entries, m) => {
      const layer = m.Layers[1]!;
      m.Layers[1] = "hardlinked.tar";
      return [...entries.filter((e) => e.name !== layer), { name: "real.tar", content: img.layers[1]!.bytes }, { name: "hardlinked.tar", type: "link", linkname: "real.tar" }];
    });
    await expectRefused(path, InvalidArchiveError, /layer "hardlinked\.tar" is a hard link, not a regular file/);
  });

  test("a symlink chain is refused: only one link is followed", async () => {
    const path = await archiveWith((entries, m) => {
      const real = m.Layers[0]!;
      m.Layers[0] = "a.tar";
      return [...entries, { name: "b.tar", type: "symlink", linkname: real }, { name: "a.tar", type: "symlink", linkname: "b.tar" }];
    });
    await expectRefused(path, InvalidArchiveError, /layer "a\.tar" is a symbolic link to "b\.tar", which is another symbolic link/);
  });

  test("a symlink to an entry that does not exist is refused, naming both", async () => {
    const path = await archiveWith((entries, m) => {
      m.Layers[0] = "a.tar";
      return [...entries, { name: "a.tar", type: "symlink", linkname: "missing.tar" }];
    });
    await expectRefused(path, InvalidArchiveError, /layer "a\.tar" is a symbolic link to "missing\.tar", which is not in the archive/);
  });

  test("a layer that is a directory, or a FIFO, is refused as not a regular file", async () => {
    const p1 = await archiveWith((entries, m) => {
      m.Layers[0] = "d";
      return [...entries, { name: "d/", type: "directory" }];
    });
    await expectRefused(p1, InvalidArchiveError, /layer "d\/" is a directory, not a regular file/);
    const p2 = await archiveWith((entries, m) => {
      m.Layers[0] = "f";
      return [...entries, { name: "f", type: "fifo" }];
    });
    await expectRefused(p2, InvalidArchiveError, /layer "f" is an entry of tar type "6"/);
  });

  test("duplicate entries are refused when used (tools disagree on which one counts), naming the entry", async () => {
    const p1 = await archiveWith((entries, m) => [...entries, { name: m.Layers[0]!, content: img.layers[1]!.bytes }]);
    await expectRefused(p1, InvalidArchiveError, /layer ".*layer\.tar" appears 2 times in the archive/);
    const p2 = await archiveWith((entries, m) => [...entries, { name: "./manifest.json", content: JSON.stringify([m]) }]);
    await expectRefused(p2, InvalidArchiveError, /archive manifest "manifest\.json" appears 2 times/);
  });

  test("a 100 MiB manifest.json is refused from its header, without being read", async () => {
    const mf = join(dir, "manifest.json");
    await writeFile(mf, "");
    await truncate(mf, 100 * 1024 * 1024); // sparse: cheap to make
    const path = join(dir, "big-manifest.tar");
    await tool("tar", ["-C", dir, "-cf", path, "manifest.json"]);
    await expectRefused(path, SizeLimitExceededError, /manifest\.json is 104857600 bytes, more than the limit of 1048576 bytes/);
  });

  test("a config larger than 4 MiB is refused, naming it", async () => {
    const path = await archiveWith((entries, m) => {
      m.Config = "huge.json";
      return [...entries, { name: "huge.json", content: new Uint8Array(4 * 1024 * 1024 + 1) }];
    });
    await expectRefused(path, SizeLimitExceededError, /config "huge\.json" is 4194305 bytes/);
  });

  test("a layer whose content does not match its DiffID fails with DigestMismatchError naming the entry", async () => {
    const path = await archiveWith((entries, m) => {
      const target = m.Layers[1]!;
      return entries.map((e) => (e.name === target ? { name: e.name, content: makeTar([{ name: "evil", content: utf8("swapped") }]) } : e));
    });
    await expectRefused(path, DigestMismatchError, new RegExp(`layer "${digestHex(img.layers[1]!.digest)}/layer\\.tar".*expected ${img.diffIDs[1]}`));
  });

  test("a layer count that differs from the config's diff_ids is refused", async () => {
    const path = await archiveWith((_, m) => {
      m.Layers.pop();
    });
    await expectRefused(path, InvalidArchiveError, /inconsistent layer count: 1 in manifest\.json, 2 in the config/);
  });

  test("a layer file used for two different DiffIDs is refused", async () => {
    const path = await archiveWith((_, m) => {
      m.Layers[1] = m.Layers[0]!;
    });
    await expectRefused(path, InvalidArchiveError, /layer file ".*" is used for two different DiffIDs/);
  });

  test("a config without rootfs, or with an invalid DiffID, is refused naming the config", async () => {
    const p1 = await archiveWith((entries, m) => {
      m.Config = "c.json";
      return [...entries, { name: "c.json", content: '{"architecture":"amd64"}' }];
    });
    await expectRefused(p1, InvalidArchiveError, /config "c\.json" is not a valid image config: "rootfs" is not set/);
    const p2 = await archiveWith((entries, m) => {
      m.Config = "c.json";
      return [...entries, { name: "c.json", content: '{"rootfs":{"type":"layers","diff_ids":["sha256:../../x","sha256:x"]}}' }];
    });
    await expectRefused(p2, InvalidArchiveError, /config "c\.json": rootfs\.diff_ids\[0\] is not a valid digest/);
  });

  test("a malformed manifest.json is refused", async () => {
    const path = join(dir, "bad.tar");
    await writeFile(path, await packTar([{ name: "manifest.json", content: '{"Config": 1}' }]));
    await expectRefused(path, InvalidArchiveError, /manifest\.json must be a JSON list/);
    await writeFile(path, await packTar([{ name: "manifest.json", content: '[{"Config": "x", "Layers": "y"}]' }]));
    await expectRefused(path, InvalidArchiveError, /item @0: "Layers" must be a list of strings/);
  });

  test("a tar truncated inside a layer is refused, naming the entry", async () => {
    const path = await archiveWith(() => {});
    const whole = await readFile(path);
    await writeFile(path, whole.subarray(0, 512 + 100));
    await expectRefused(path, InvalidArchiveError, /truncated: the entry ".*" needs \d+ bytes/);
  });

  test("a tar cut at an entry boundary (no end-of-archive marker) is refused as truncated", async () => {
    const path = await archiveWith(() => {});
    const whole = await readFile(path);
    // Drop the end-of-archive blocks: tar-stream writes exactly two zero blocks.
    await writeFile(path, whole.subarray(0, whole.length - 1024));
    await expectRefused(path, InvalidArchiveError, /truncated: it ends without the end-of-archive marker after the entry "manifest\.json"/);
  });

  test("a header with a bad checksum in the middle of the archive is refused", async () => {
    const path = await archiveWith(() => {});
    const fh = await open(path, "r+");
    try {
      // Corrupt the second header's name (entry one is the config, well under 512 bytes of data).
      const size = img.config.size;
      const second = 512 + Math.ceil(size / 512) * 512;
      await fh.write(utf8("X"), 0, 1, second);
    } finally {
      await fh.close();
    }
    await expectRefused(path, InvalidArchiveError, /corrupt: the tar header at offset \d+, after the entry ".*json", has a bad checksum/);
  });

  test("a file that is not a tar is refused; so is an empty one", async () => {
    const path = join(dir, "random.bin");
    await writeFile(path, new Uint8Array(4096).map((_, i) => (i * 7919) % 251));
    await expectRefused(path, InvalidArchiveError, /is not a tar archive/);
    await writeFile(path, "");
    await expectRefused(path, InvalidArchiveError, /is an empty file, not a tar archive/);
    await writeFile(path, "short");
    await expectRefused(path, InvalidArchiveError, /not a tar archive/);
  });

  test("a gzip file that does not hold a tar is refused", async () => {
    const path = join(dir, "notatar.txt");
    await writeFile(path, "just some text, long enough ".repeat(100));
    await tool("gzip", ["-n", path]);
    await expectRefused(path + ".gz", InvalidArchiveError, /is not a tar archive/);
  });
});
