#!/usr/bin/env node
// The browser gate: every package marked `"stevedore": { "browser": true }`
// in its package.json is bundled with esbuild for the browser platform, from
// its public entry point; reaching a Node built-in fails the gate. Its own
// built files must not use Node globals (Buffer, process, __dirname, require).
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { build } from "esbuild";

const root = join(import.meta.dirname, "..");
const pkgsDir = join(root, "packages");
const nodeGlobals = /\bBuffer\b|\bprocess\.[a-zA-Z]|\b__dirname\b|\b__filename\b|\brequire\(/;
let failures = 0;
let checked = 0;

function walk(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : [],
  );
}

for (const name of readdirSync(pkgsDir).sort()) {
  const dir = join(pkgsDir, name);
  const pj = join(dir, "package.json");
  if (!existsSync(pj)) continue;
  const pkg = JSON.parse(readFileSync(pj, "utf8"));
  if (!pkg.stevedore?.browser) continue;
  checked++;
  // The Node-only halves of conditional imports ("node" condition) are not part of the browser build.
  const nodeOnly = new Set(
    Object.values(pkg.imports ?? {})
      .map((v) => (typeof v === "object" && v.node ? join(dir, v.node) : undefined))
      .filter(Boolean),
  );
  try {
    await build({
      stdin: { contents: `export * from ${JSON.stringify(pkg.name)};`, resolveDir: dir, loader: "js" },
      bundle: true,
      platform: "browser",
      format: "esm",
      write: false,
      logLevel: "silent",
      nodePaths: [join(root, "node_modules")],
    });
  } catch (e) {
    failures++;
    const msgs = (e.errors ?? [{ text: String(e) }]).map((m) => `  ${m.text}${m.location ? ` (${m.location.file}:${m.location.line})` : ""}`);
    console.error(`browser gate: ${pkg.name} does not bundle for the browser:\n${msgs.join("\n")}`);
    continue;
  }
  for (const f of walk(join(dir, "dist"))) {
    if (nodeOnly.has(f)) continue;
    const text = readFileSync(f, "utf8").replace(/\/\/.*$|\/\*[\s\S]*?\*\//gm, "");
    const m = text.match(nodeGlobals);
    if (m) {
      failures++;
      console.error(`browser gate: ${pkg.name}: ${relative(root, f)} uses the Node global "${m[0]}"`);
    }
  }
}
if (checked === 0) {
  console.error("browser gate: no package is marked browser-safe; nothing was checked");
  process.exit(1);
}
console.log(`browser gate: ${checked} browser-safe package(s) checked, ${failures} problem(s)`);
process.exit(failures ? 1 : 0);
