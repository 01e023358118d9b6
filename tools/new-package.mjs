#!/usr/bin/env node
// Creates the skeleton of a workspace package:
//   node tools/new-package.mjs <name> [--browser] [--private] [--deps a,b] [--ext x,y] [--desc "..."]
// --deps: other @stevedore packages it imports; --ext: external dependencies
// (from the pnpm catalog). Nothing is overwritten.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    browser: { type: "boolean", default: false },
    private: { type: "boolean", default: false },
    deps: { type: "string", default: "" },
    ext: { type: "string", default: "" },
    desc: { type: "string", default: "" },
  },
});
const [name] = positionals;
if (!name || !/^[a-z][a-z0-9-]*$/.test(name)) {
  console.error("usage: new-package.mjs <name> [--browser] [--private] [--deps a,b] [--ext x,y] [--desc text]");
  process.exit(2);
}
const dir = join(import.meta.dirname, "..", "packages", name);
const list = (s) => s.split(",").map((x) => x.trim()).filter(Boolean);
const deps = list(values.deps);
const ext = list(values.ext);

const pkg = {
  name: `@stevedore/${name}`,
  version: "0.1.0",
  ...(values.private ? { private: true } : {}),
  description: values.desc || `Stevedore: ${name}`,
  license: "Apache-2.0",
  type: "module",
  sideEffects: false,
  engines: { node: ">=22.19" },
  exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" }, "./package.json": "./package.json" },
  files: ["dist"],
  scripts: {
    build: "tsc -b",
    typecheck: "tsc -p tsconfig.test.json",
    lint: "node ../../tools/lint-package.mjs",
    test: "vitest run",
  },
  dependencies: Object.fromEntries([
    ...deps.map((d) => [`@stevedore/${d}`, "workspace:^"]),
    ...ext.map((d) => [d, "catalog:"]),
  ]),
  devDependencies: { "@types/node": "catalog:", "fast-check": "catalog:", vitest: "catalog:" },
  ...(values.browser ? { stevedore: { browser: true } } : {}),
};
const types = values.browser ? [] : ["node"];
const files = {
  "package.json": JSON.stringify(pkg, null, 2) + "\n",
  "tsconfig.json":
    JSON.stringify(
      {
        extends: "../../tsconfig.base.json",
        compilerOptions: { rootDir: "src", outDir: "dist", types },
        include: ["src"],
        references: deps.map((d) => ({ path: `../${d}` })),
      },
      null,
      2,
    ) + "\n",
  "tsconfig.test.json":
    JSON.stringify(
      {
        extends: "../../tsconfig.base.json",
        compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false, types: ["node"] },
        include: ["test"],
      },
      null,
      2,
    ) + "\n",
  "vitest.config.ts": `import { defineProject } from "vitest/config";\n\nexport default defineProject({ test: { name: "${name}", include: ["test/**/*.test.ts"] } });\n`,
  "README.md": `# @stevedore/${name}\n\n${pkg.description}.\n`,
  "src/index.ts": "",
};
mkdirSync(join(dir, "src"), { recursive: true });
mkdirSync(join(dir, "test"), { recursive: true });
for (const [f, text] of Object.entries(files)) {
  const p = join(dir, f);
  if (!existsSync(p)) writeFileSync(p, text);
}
console.log(`packages/${name}: ready (run pnpm install to link it)`);
