#!/usr/bin/env node
// ./run demo: Stevedore's main job on the built-in example image
// (examples/sample-image, an OCI layout with a linux/amd64 + linux/arm64 index):
// inspect it, copy it between local formats and convert it, then push it to a
// real registry started on 127.0.0.1, inspect it there, list its tags, pull it
// back and check that the digests match. Every step runs the `stevedore` CLI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = join(import.meta.dirname, "..");
const bin = join(root, "packages", "cli", "dist", "bundle", "bin.js");
const sample = relative(process.cwd(), join(root, "examples", "sample-image")) || ".";
const work = mkdtempSync(join(tmpdir(), "stevedore-demo-"));
const policy = join(work, "policy.json");
writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));

const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
let step = 0;
function title(text) {
  console.log(`\n${bold(`${++step}. ${text}`)}`);
}

/** Runs `stevedore ARGS` (with the demo's policy), echoing the command and its output. */
function stevedore(args, { quiet = false } = {}) {
  const shown = args.map((a) => (a.includes(work) ? a.replace(work, "$DEMO") : a));
  console.log(`$ stevedore ${shown.join(" ")}`);
  const r = spawnSync(process.execPath, [bin, "--policy", policy, ...args], { encoding: "utf8" });
  if (!quiet && r.stdout) process.stdout.write(r.stdout.replaceAll(work, "$DEMO"));
  if (r.stderr) process.stderr.write(r.stderr.replaceAll(work, "$DEMO"));
  if (r.status !== 0) throw new Error(`stevedore ${args[0]} failed with status ${r.status}`);
  return r.stdout;
}

function digestOf(image, extra = []) {
  return stevedore(["inspect", ...extra, "--format", "{{.Digest}}", image], { quiet: true }).trim();
}

function same(label, a, b) {
  const ok = a === b;
  console.log(`   ${label}: ${a}${ok ? " (identical)" : ` vs ${b} — DIFFERENT`}`);
  if (!ok) throw new Error(`${label}: digests differ`);
}

let registry;
try {
  console.log(bold("Stevedore demo") + ` — work directory $DEMO = ${work}`);

  title("Inspect the sample image (a two-platform OCI index) without copying it");
  stevedore(["inspect", `oci:${sample}:1.0`]);

  title("Copy every platform into a new OCI layout; the index digest does not change");
  stevedore(["copy", "--all", `oci:${sample}:1.0`, `oci:${join(work, "copy")}:1.0`]);
  same("index digest", digestOf(`oci:${sample}:1.0`), digestOf(`oci:${join(work, "copy")}:1.0`));

  title("Carry the amd64 image through every local format: oci → docker-archive → oci-archive → dir → oci");
  const hops = [
    `oci:${sample}:1.0`,
    `docker-archive:${join(work, "sample.tar")}:stevedore/sample:1.0`,
    `oci-archive:${join(work, "sample-oci.tar")}:1.0`,
    `dir:${join(work, "dir")}`,
    `oci:${join(work, "roundtrip")}:1.0`,
  ];
  for (let i = 1; i < hops.length; i++) stevedore(["--override-arch", "amd64", "copy", "-q", hops[i - 1], hops[i]]);
  const configOf = (image) => stevedore(["--override-arch", "amd64", "inspect", "--format", "{{.Architecture}} {{json .Layers}}", image], { quiet: true }).trim();
  console.log(`   docker-archive stores layers uncompressed; the trip back through oci-archive and dir re-compresses them.`);
  for (const h of hops) console.log(`   ${h.replace(work, "$DEMO").padEnd(60)} ${configOf(h)}`);
  const cfg = (image) => JSON.parse(stevedore(["--override-arch", "amd64", "inspect", "--config", "--raw", image], { quiet: true })).rootfs.diff_ids.join(",");
  same("layer contents (diff_ids)", cfg(hops[0]), cfg(hops.at(-1)));

  title("Convert the arm64 image to Docker schema 2");
  stevedore(["--override-arch", "arm64", "copy", "-q", "--format", "v2s2", `oci:${sample}:1.0`, `dir:${join(work, "s2")}`]);
  const m = JSON.parse(readFileSync(join(work, "s2", "manifest.json"), "utf8"));
  console.log(`   manifest media type: ${m.mediaType}`);

  title("Start a real registry (Docker Distribution) on 127.0.0.1");
  const { startRegistry } = await import(join(root, "packages", "testing", "dist", "index.js"));
  registry = await startRegistry();
  console.log(`   registry at ${registry.url}`);
  const repo = `docker://${registry.host}/stevedore/sample`;

  title("Push the sample (all platforms) to the registry");
  stevedore(["copy", "--all", "--dest-tls-verify=false", `oci:${sample}:1.0`, `${repo}:1.0`]);
  stevedore(["copy", "--all", "--src-tls-verify=false", "--dest-tls-verify=false", `${repo}:1.0`, `${repo}:latest`]);

  title("Inspect it remotely and list its tags");
  stevedore(["inspect", "--tls-verify=false", `${repo}:1.0`]);
  stevedore(["list-tags", "--tls-verify=false", repo]);

  title("Pull it back into a fresh layout and compare digests");
  stevedore(["copy", "--all", "--src-tls-verify=false", `${repo}:1.0`, `oci:${join(work, "pulled")}:1.0`]);
  same("index digest", digestOf(`oci:${sample}:1.0`), digestOf(`oci:${join(work, "pulled")}:1.0`));
  same("registry digest", digestOf(`oci:${sample}:1.0`), digestOf(`${repo}:1.0`, ["--tls-verify=false"]));

  console.log(`\n${bold("Done.")} Everything above ran the stevedore CLI; see ./run stevedore --help.`);
} catch (e) {
  console.error(`\ndemo failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
} finally {
  if (registry) {
    await registry.stop();
    console.log("   registry stopped");
  }
  rmSync(work, { recursive: true, force: true });
}
