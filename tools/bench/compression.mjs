// Compares @stevedore/compression with the gzip and zstd command-line tools
// on the same files in the same run: decompression (gzip -d, zstd -d) and
// compression (gzip -6, zstd -3 -T1) of 256 MiB of random data and of
// log-like text. Each case runs 3 times per side, alternating which side goes
// first; the table shows medians, the ratio Stevedore/CLI (< 1 = faster) and
// peak RSS. Run from the repository root after building the package:
//
//   node tools/bench/compression.mjs            # 256 MiB per data set
//   BENCH_QUICK=1 node tools/bench/compression.mjs   # 16 MiB smoke run
//
// Stevedore runs in a fresh Node process per measurement (so its peak RSS is
// its own, Node runtime included); the time is that of the stream work inside
// that process: read the file (fs.createReadStream with 1 MiB reads, as a
// transport reading a local blob should: with Node's default 64 KiB the file
// reads alone cost more than zstd), run it through the package, discard the
// output.
// The tools read the same file and write to /dev/null; their time includes
// process start-up (about a millisecond), their peak RSS comes from
// /usr/bin/time when it exists (Debian package "time").
import { spawn, spawnSync } from "node:child_process";
import { randomFillSync } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";

const MiB = 1024 * 1024;
const PACKAGE = new URL("../../packages/compression/dist/index.js", import.meta.url);
const READ_CHUNK = MiB;

/** One measured run of Stevedore: prints {seconds, bytes, maxRssKiB} as JSON. */
async function child([op, alg, file, level]) {
  const { compressStream, decompressStream } = await import(PACKAGE.href);
  if (op === "baseline") {
    process.stdout.write(JSON.stringify({ seconds: 0, bytes: 0, maxRssKiB: process.resourceUsage().maxRSS }));
    return;
  }
  const t0 = performance.now();
  const input = createReadStream(file, { highWaterMark: READ_CHUNK });
  const stream = op === "d" ? decompressStream(input, alg) : compressStream(input, alg, { level: Number(level) });
  let bytes = 0;
  for await (const c of stream) bytes += c.byteLength;
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ seconds, bytes, maxRssKiB: process.resourceUsage().maxRSS }));
}

function requireTool(name, debianPackage) {
  const r = spawnSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`the benchmark needs "${name}": install the Debian package "${debianPackage}"`);
}

/** Log-like text: the same few shapes of line with varying numbers and ids, so it compresses like real logs. */
function writeText(file, size) {
  const levels = ["INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"];
  const parts = ["registry", "copy", "blob", "manifest", "auth", "transport", "cache", "policy", "signature"];
  const msgs = [
    "pulled layer",
    "pushed blob",
    "verified signature",
    "reused blob from cache",
    "retrying request after 429 Too Many Requests",
    "resolved short name",
    "mounted blob from another repository",
    "computed diff id",
    "wrote manifest",
  ];
  let x = 0x9e3779b9;
  const rnd = () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>>= 0);
  };
  const hex = () => rnd().toString(16).padStart(8, "0");
  const out = createWriteStream(file);
  let written = 0;
  let seq = 0;
  return new Promise((resolve, reject) => {
    out.on("error", reject);
    const pump = () => {
      while (written < size) {
        let s = "";
        while (s.length < MiB) {
          const t = new Date(1_700_000_000_000 + seq * 37).toISOString();
          s += `${t} ${levels[rnd() % levels.length]} [${parts[rnd() % parts.length]}] ${msgs[rnd() % msgs.length]} digest=sha256:${hex()}${hex()}${hex()}${hex()} size=${rnd() % 50_000_000} req=${seq++}\n`;
        }
        let b = Buffer.from(s);
        if (written + b.byteLength > size) b = b.subarray(0, size - written);
        written += b.byteLength;
        if (!out.write(b)) return void out.once("drain", pump);
      }
      out.end(resolve);
    };
    pump();
  });
}

async function writeRandom(file, size) {
  const out = createWriteStream(file);
  const buf = Buffer.alloc(MiB);
  for (let n = 0; n < size; n += MiB) {
    randomFillSync(buf);
    if (!out.write(Buffer.from(buf.subarray(0, Math.min(MiB, size - n))))) await once(out, "drain");
  }
  out.end();
  await once(out, "finish");
}

/** Runs `cmd args < stdin-less` with stdout to /dev/null; returns seconds and peak RSS (KiB, or NaN). */
async function runCli(cmd, args) {
  const timed = existsSync("/usr/bin/time");
  const argv = timed ? ["/usr/bin/time", ["-f", "%M", cmd, ...args]] : [cmd, args];
  const t0 = performance.now();
  const p = spawn(argv[0], argv[1], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const [code] = await once(p, "close");
  const seconds = (performance.now() - t0) / 1000;
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${err}`);
  const maxRssKiB = timed ? Number(err.trim().split("\n").pop()) : NaN;
  return { seconds, maxRssKiB };
}

async function runStevedore(op, alg, file, level) {
  const p = spawn(process.execPath, [new URL(import.meta.url).pathname, "--child", op, alg, file, String(level ?? "")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  p.stdout.on("data", (d) => (out += d));
  const [code] = await once(p, "close");
  if (code !== 0) throw new Error(`Stevedore ${op} ${alg} ${file} failed`);
  return JSON.parse(out);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  requireTool("gzip", "gzip");
  requireTool("zstd", "zstd");
  if (!existsSync(PACKAGE)) throw new Error("build the package first: turbo run build --filter=@stevedore/compression...");
  const size = process.env.BENCH_QUICK === "1" ? 16 * MiB : 256 * MiB;
  const rounds = 3;
  const dir = mkdtempSync(join(tmpdir(), "stevedore-bench-compression-"));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanup();
    process.exit(130);
  });
  try {
    console.error(`generating ${size / MiB} MiB of random data and of text in ${dir} ...`);
    const sets = { random: join(dir, "random.bin"), text: join(dir, "text.bin") };
    await writeRandom(sets.random, size);
    await writeText(sets.text, size);
    for (const file of Object.values(sets)) {
      // the decompression inputs, made once by the tools themselves
      await runCli("sh", ["-c", `gzip -6 -c "$1" > "$1.gz" && zstd -q -3 -T1 -c "$1" > "$1.zst"`, "sh", file]);
    }

    const cases = [];
    for (const [name, file] of Object.entries(sets)) {
      cases.push(
        { data: name, op: "gzip -d", cli: ["gzip", ["-d", "-c", `${file}.gz`]], ours: ["d", "gzip", `${file}.gz`], expect: size },
        { data: name, op: "zstd -d", cli: ["zstd", ["-q", "-d", "-c", `${file}.zst`]], ours: ["d", "zstd", `${file}.zst`], expect: size },
        { data: name, op: "gzip -6", cli: ["gzip", ["-6", "-c", file]], ours: ["c", "gzip", file, 6] },
        { data: name, op: "zstd -3 -T1", cli: ["zstd", ["-q", "-3", "-T1", "-c", file]], ours: ["c", "zstd", file, 3] },
      );
    }

    const rows = [];
    for (const c of cases) {
      const cli = [];
      const ours = [];
      for (let i = 0; i < rounds; i++) {
        const order = i % 2 === 0 ? ["cli", "ours"] : ["ours", "cli"];
        for (const side of order) {
          if (side === "cli") cli.push(await runCli(c.cli[0], c.cli[1]));
          else {
            const r = await runStevedore(...c.ours);
            if (c.expect !== undefined && r.bytes !== c.expect) throw new Error(`${c.op} ${c.data}: got ${r.bytes} bytes, expected ${c.expect}`);
            ours.push(r);
          }
        }
      }
      const row = {
        data: c.data,
        op: c.op,
        cli: median(cli.map((r) => r.seconds)),
        ours: median(ours.map((r) => r.seconds)),
        cliRss: Math.max(...cli.map((r) => r.maxRssKiB)) / 1024,
        oursRss: Math.max(...ours.map((r) => r.maxRssKiB)) / 1024,
        outBytes: ours[0].bytes,
      };
      rows.push(row);
      console.error(`${c.data} ${c.op}: CLI ${row.cli.toFixed(3)} s, Stevedore ${row.ours.toFixed(3)} s`);
    }

    const inputSize = (r) => (r.op.endsWith("-d") ? statSync(`${sets[r.data]}.${r.op.startsWith("gzip") ? "gz" : "zst"}`).size : size);
    const baseline = (await runStevedore("baseline", "", "", "")).maxRssKiB / 1024;
    console.log(`\nCompression, ${size / MiB} MiB per data set, median of ${rounds}, Node ${process.versions.node} (zlib ${process.versions.zlib}, zstd ${process.versions.zstd})`);
    console.log(`Stevedore's peak RSS includes Node itself: ${baseline.toFixed(1)} MiB for a process that only imports the package.\n`);
    console.log("| data | operation | input MiB | CLI s | Stevedore s | Stevedore/CLI | Stevedore MB/s (uncompressed) | CLI peak RSS MiB | Stevedore peak RSS MiB |");
    console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      const mbps = size / 1e6 / r.ours; // uncompressed bytes per second
      console.log(
        `| ${r.data} | ${r.op} | ${(inputSize(r) / MiB).toFixed(1)} | ${r.cli.toFixed(3)} | ${r.ours.toFixed(3)} | ${(r.ours / r.cli).toFixed(2)} | ${mbps.toFixed(0)} | ${Number.isNaN(r.cliRss) ? "n/a" : r.cliRss.toFixed(1)} | ${r.oursRss.toFixed(1)} |`,
      );
    }
  } finally {
    cleanup();
  }
}

if (process.argv[2] === "--child") {
  await child(process.argv.slice(3));
} else {
  await main();
}
