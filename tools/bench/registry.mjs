#!/usr/bin/env node
// Registry benchmark: Stevedore against skopeo on the same real registries in
// one run, alternating, fresh destinations and a new repository per push,
// both tools' blob-info caches cleared for "cold" cases.
//
// Images: "big" = 4 layers of 256 MiB random data (gzip), "small" = 50 layers
// of 1 MiB. BENCH_QUICK=1 shrinks them (4 × 16 MiB, 10 × 1 MiB) for a smoke
// run; BENCH_RUNS (default 5, quick 2) sets the runs per case; BENCH_CASES a
// comma-separated subset.
//
// Prints a markdown table: median wall seconds of each tool, the ratio
// Stevedore/skopeo, and each tool's median peak RSS (from /usr/bin/time).
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";
import { Readable } from "node:stream";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";

const root = join(import.meta.dirname, "..", "..");
const quick = process.env.BENCH_QUICK === "1";
const RUNS = Number(process.env.BENCH_RUNS ?? (quick ? 2 : 5));
const only = process.env.BENCH_CASES ? new Set(process.env.BENCH_CASES.split(",")) : undefined;
const BIG = { layers: 4, size: (quick ? 16 : 256) * 1048576 };
const SMALL = { layers: quick ? 10 : 50, size: 1048576 };
const stevedoreBin = join(root, "packages", "cli", "dist", "bundle", "bin.js");
const work = mkdtempSync(join(process.env.BENCH_DIR ?? "/var/tmp", "stevedore-bench-"));
const policy = join(work, "policy.json");
writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
const caches = ["/var/lib/containers/cache", join(process.env.HOME ?? "/root", ".local/share/containers/cache")];

function which(cmd) {
  try {
    return execFileSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).trim();
  } catch {
    throw new Error(`bench: ${cmd} is missing; run tools/setup-system.sh`);
  }
}
const skopeoBin = which("skopeo");
const timeBin = existsSync("/usr/bin/time") ? "/usr/bin/time" : which("time");

/** Writes a random layer as a gzip tar blob; returns its descriptor. */
async function writeLayer(blobsDir, bytes, index) {
  const header = Buffer.alloc(512);
  const name = `layer${index}.bin`;
  header.write(name, 0);
  header.write("0000644\0", 100);
  header.write("0000000\0", 108);
  header.write("0000000\0", 116);
  header.write(bytes.toString(8).padStart(11, "0") + "\0", 124);
  header.write("14000000000\0", 136);
  header.write("        ", 148);
  header.write("0", 156);
  header.write("ustar\0", 257);
  header.write("00", 263);
  let sum = 0;
  for (const b of header) sum += b;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148);
  const pad = (512 - (bytes % 512)) % 512;
  async function* tar() {
    yield header;
    for (let left = bytes; left > 0; left -= 1048576) yield randomBytes(Math.min(1048576, left));
    yield Buffer.alloc(pad + 1024);
  }
  const tmp = join(blobsDir, `tmp-${index}`);
  const diff = createHash("sha256");
  const comp = createHash("sha256");
  let size = 0;
  await pipeline(
    Readable.from(tar()),
    async function* (src) {
      for await (const c of src) {
        diff.update(c);
        yield c;
      }
    },
    createGzip({ level: 1 }),
    async function* (src) {
      for await (const c of src) {
        comp.update(c);
        size += c.length;
        yield c;
      }
    },
    createWriteStream(tmp),
  );
  const digest = `sha256:${comp.digest("hex")}`;
  execFileSync("mv", [tmp, join(blobsDir, digest.slice(7))]);
  return { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest, size, diffID: `sha256:${diff.digest("hex")}` };
}

async function makeImage(name, spec) {
  const dir = join(work, `img-${name}`);
  const blobs = join(dir, "blobs", "sha256");
  mkdirSync(blobs, { recursive: true });
  const layers = [];
  for (let i = 0; i < spec.layers; i++) { layers.push(await writeLayer(blobs, spec.size, i)); }
  const put = (obj, mediaType) => {
    const b = Buffer.from(JSON.stringify(obj));
    const digest = `sha256:${createHash("sha256").update(b).digest("hex")}`;
    writeFileSync(join(blobs, digest.slice(7)), b);
    return { mediaType, digest, size: b.length };
  };
  const config = put(
    { architecture: "amd64", os: "linux", created: "2026-01-01T00:00:00Z", rootfs: { type: "layers", diff_ids: layers.map((l) => l.diffID) }, config: {} },
    "application/vnd.oci.image.config.v1+json",
  );
  const manifest = put(
    { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config, layers: layers.map(({ diffID, ...d }) => d) },
    "application/vnd.oci.image.manifest.v1+json",
  );
  writeFileSync(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(join(dir, "index.json"), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { "org.opencontainers.image.ref.name": "v1" } }] }));
  return dir;
}

function clearCaches() {
  for (const d of caches) {
    for (const f of ["blob-info-cache-v1.boltdb", "blob-info-cache-v1.sqlite", "stevedore-blob-info-cache-v1.sqlite", "stevedore-blob-info-cache-v1.sqlite-wal", "stevedore-blob-info-cache-v1.sqlite-shm"]) {
      rmSync(join(d, f), { force: true });
    }
  }
}

/**
 * Runs a command under /usr/bin/time; returns wall seconds and peak RSS MiB.
 * Asynchronous on purpose: the registries started by this process log
 * through pipes it must keep reading, or they would block.
 */
function measure(cmd, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(timeBin, ["-f", "%e %M", cmd, ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.on("data", (d) => (err = (err + d).slice(-8192)));
    child.on("error", reject);
    child.on("close", (status) => {
      const last = err.trim().split("\n").at(-1) ?? "";
      const [wall, rss] = last.split(" ").map(Number);
      if (status !== 0) reject(new Error(`${cmd} ${args.join(" ")} failed (${status}):\n${err.slice(-2000)}`));
      else resolve({ wall, rss: rss / 1024 });
    });
  });
}

const tools = {
  // The node flags of the CLI's shebang (packages/cli/src/bin.ts).
  stevedore: (args) => measure(process.execPath, ["--max-semi-space-size=1", stevedoreBin, "--policy", policy, ...args]),
  skopeo: (args) => measure(skopeoBin, ["--policy", policy, ...args]),
};

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

let counter = 0;
const fresh = (base) => `${base}-${process.pid}-${++counter}`;

async function main() {
  const { startRegistry } = await import(join(root, "packages", "testing", "dist", "index.js"));
  console.log(`Building images in ${work} (big: ${BIG.layers} × ${BIG.size / 1048576} MiB, small: ${SMALL.layers} × ${SMALL.size / 1048576} MiB)…`);
  const big = await makeImage("big", BIG);
  const small = await makeImage("small", SMALL);
  const A = await startRegistry();
  const B = await startRegistry();
  const tls = ["--dest-tls-verify=false"];
  const stls = ["--src-tls-verify=false"];
  try {
    // Seed repositories to pull from.
    for (const [img, repo] of [[big, "seed/big"], [small, "seed/small"]]) {
      await tools.skopeo(["copy", ...tls, `oci:${img}:v1`, `docker://${A.host}/${repo}:v1`]);
    }
    if (process.env.BENCH_SETUP_ONLY === "1") {
      // For profiling by hand: keep the images and registries until interrupted.
      console.log(JSON.stringify({ big, small, A: A.host, B: B.host, policy }));
      await new Promise((resolve) => process.once("SIGINT", resolve));
      return;
    }
    const cases = {
      "pull-big": (t) => ({ before: clearCaches, args: ["copy", ...stls, `docker://${A.host}/seed/big:v1`, `oci:${join(work, fresh(t + "-pull"))}:v1`] }),
      "push-big": (t) => ({ before: clearCaches, args: ["copy", ...tls, `oci:${big}:v1`, `docker://${A.host}/${fresh(t + "/pushbig")}:v1`] }),
      "r2r-cold": (t) => ({ before: clearCaches, args: ["copy", ...stls, ...tls, `docker://${A.host}/seed/big:v1`, `docker://${A.host}/${fresh(t + "/r2r")}:v1`] }),
      "x2r-cold": (t) => ({ before: clearCaches, args: ["copy", ...stls, ...tls, `docker://${A.host}/seed/big:v1`, `docker://${B.host}/${fresh(t + "/x2r")}:v1`] }),
      "r2r-mount": (t) => {
        const repo = fresh(t + "/mnt");
        return {
          // Warm the tool's cache: it learns where the blobs are by copying them once.
          before: async () => {
            clearCaches();
            await tools[t](["copy", ...stls, ...tls, `docker://${A.host}/seed/big:v1`, `docker://${A.host}/${repo}-warm:v1`]);
          },
          args: ["copy", ...stls, ...tls, `docker://${A.host}/seed/big:v1`, `docker://${A.host}/${repo}:v1`],
        };
      },
      "r2r-tag": (t) => ({ args: ["copy", ...stls, ...tls, `docker://${A.host}/seed/big:v1`, `docker://${A.host}/seed/big:${fresh(t)}`] }),
      "pull-small": (t) => ({ before: clearCaches, args: ["copy", ...stls, `docker://${A.host}/seed/small:v1`, `oci:${join(work, fresh(t + "-pulls"))}:v1`] }),
      "push-small": (t) => ({ before: clearCaches, args: ["copy", ...tls, `oci:${small}:v1`, `docker://${A.host}/${fresh(t + "/pushsmall")}:v1`] }),
      inspect: () => ({ args: ["inspect", "--tls-verify=false", `docker://${A.host}/seed/small:v1`] }),
      "inspect-raw": () => ({ args: ["inspect", "--raw", "--tls-verify=false", `docker://${A.host}/seed/small:v1`] }),
    };
    const rows = [];
    for (const [name, make] of Object.entries(cases)) {
      if (only && !only.has(name)) continue;
      const res = { stevedore: [], skopeo: [] };
      // One warm-up each, then alternate.
      for (let i = -1; i < RUNS; i++) {
        for (const t of i % 2 ? ["stevedore", "skopeo"] : ["skopeo", "stevedore"]) {
          const c = make(t);
          await c.before?.();
          // Start each run with no dirty pages left by the previous one, whose
          // writeback would otherwise be charged to whichever tool runs next.
          execFileSync("sync");
          const m = await tools[t](c.args);
          if (i >= 0) res[t].push(m);
        }
      }
      const row = {
        name,
        sw: median(res.stevedore.map((m) => m.wall)),
        kw: median(res.skopeo.map((m) => m.wall)),
        sr: median(res.stevedore.map((m) => m.rss)),
        kr: median(res.skopeo.map((m) => m.rss)),
      };
      rows.push(row);
      console.log(`${name}: stevedore ${row.sw.toFixed(3)} s, skopeo ${row.kw.toFixed(3)} s, ratio ${(row.sw / row.kw).toFixed(2)}`);
      // Reclaim disk between cases.
      for (const f of execFileSync("ls", [work], { encoding: "utf8" }).split("\n")) if (/-pull/.test(f)) rmSync(join(work, f), { recursive: true, force: true });
    }
    console.log(`\n| case | stevedore s | skopeo s | stevedore/skopeo | stevedore peak MiB | skopeo peak MiB |`);
    console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
    for (const r of rows) {
      console.log(`| ${r.name} | ${r.sw.toFixed(3)} | ${r.kw.toFixed(3)} | **${(r.sw / r.kw).toFixed(2)}** | ${r.sr.toFixed(1)} | ${r.kr.toFixed(1)} |`);
    }
    console.log(`\n${RUNS} runs per case after a warm-up, medians; big = ${BIG.layers} × ${BIG.size / 1048576} MiB, small = ${SMALL.layers} × ${SMALL.size / 1048576} MiB.`);
  } finally {
    await A.stop();
    await B.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
