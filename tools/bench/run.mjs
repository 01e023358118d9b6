#!/usr/bin/env node
// ./run bench: runs every benchmark script in tools/bench/ (except this one and
// helpers starting with "_"), one after another, each printing its own table.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const scripts = readdirSync(dir)
  .filter((f) => f.endsWith(".mjs") && f !== "run.mjs" && !f.startsWith("_"))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();
let failed = 0;
for (const s of scripts) {
  console.log(`\n## ${s.replace(/\.mjs$/, "")}\n`);
  const r = spawnSync(process.execPath, [join(dir, s)], { stdio: "inherit" });
  if (r.status !== 0) {
    failed++;
    console.error(`bench: ${s} failed with status ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
