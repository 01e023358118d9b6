#!/usr/bin/env node
// Lints the package in the current directory: publint (package.json and
// exports correctness) and, for published packages, "are the types wrong"
// with the esm-only profile. Exits non-zero on any error.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { publint } from "publint";
import { formatMessage } from "publint/utils";

const dir = process.cwd();
const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
let failed = false;

const { messages } = await publint({ pkgDir: dir, level: "warning", strict: true });
for (const m of messages) {
  console.error(`${pkg.name}: publint ${m.type}: ${formatMessage(m, pkg) ?? m.code}`);
  failed = true;
}

if (!pkg.private) {
  const require = createRequire(import.meta.url);
  const attw = join(require.resolve("@arethetypeswrong/cli/package.json"), "..", "dist", "index.js");
  try {
    execFileSync(process.execPath, [attw, "--pack", ".", "--profile", "esm-only", "--format", "ascii", "--quiet"], {
      cwd: dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } catch (e) {
    console.error(`${pkg.name}: attw found problems:\n${e.stdout?.toString() ?? ""}${e.stderr?.toString() ?? ""}`);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
