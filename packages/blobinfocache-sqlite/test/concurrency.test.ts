import { fork, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest } from "@stevedore/types";
import { openSqliteCache } from "@stevedore/blobinfocache-sqlite";
import { expect, test } from "vitest";

const digestOf = (s: string): Digest => `sha256:${createHash("sha256").update(s).digest("hex")}` as Digest;
const WRITER = join(import.meta.dirname, "fixtures", "writer.mjs");
const COUNT = 1000;

interface Report {
  backend: string;
  warnings: string[];
}

function startWriter(path: string, id: string): { child: ChildProcess; ready: Promise<void>; report: Promise<Report> } {
  const child = fork(WRITER, [path, id, String(COUNT)], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const report = new Promise<Report>((resolve, reject) => {
    let result: Report | undefined;
    child.on("message", (m) => {
      if (m === "ready") markReady();
      else result = m as Report;
    });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0 && result !== undefined) resolve(result);
      else reject(new Error(`writer ${id} exited with ${signal ?? code} before reporting`));
    });
  });
  return { child, ready, report };
}

test("two processes writing one new cache file at once both keep every record, with no lock error", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stevedore-bic-concurrent-"));
  const path = join(dir, "cache.sqlite");
  const writers = [startWriter(path, "p1"), startWriter(path, "p2")];
  try {
    await Promise.all(writers.map((w) => w.ready));
    for (const w of writers) w.child.send("go");
    const reports = await Promise.all(writers.map((w) => w.report));
    for (const r of reports) expect(r).toEqual({ backend: "sqlite", warnings: [] });

    const warnings: string[] = [];
    const cache = openSqliteCache(path, { onWarning: (w) => warnings.push(w.message) });
    try {
      for (const id of ["p1", "p2"]) {
        for (let i = 0; i < COUNT; i++) {
          const d = digestOf(`${id}/${i}`);
          expect(cache.uncompressedDigest(d)).toBe(digestOf(`${id}/${i}/uncompressed`));
          expect(cache.candidateLocations("docker", "registry.test", d, { canSubstitute: false })).toMatchObject([
            { digest: d, compressorName: "gzip", location: `repo-${id}-${i}` },
          ]);
        }
      }
      const shared = cache.candidateLocations("docker", "registry.test", digestOf("shared"), { canSubstitute: false });
      expect(shared.map((c) => c.location).sort()).toEqual(["shared-p1", "shared-p2"]);
      expect(cache.backend).toBe("sqlite");
      expect(warnings).toEqual([]);
    } finally {
      cache.dispose();
    }
  } finally {
    for (const w of writers) if (w.child.exitCode === null) w.child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
