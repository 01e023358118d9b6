#!/usr/bin/env node
import { main } from "./main.js";

const controller = new AbortController();
let interrupted = 0;
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    // First signal: cancel cleanly (destinations roll back). Second: leave now.
    if (++interrupted > 1) process.exit(130);
    controller.abort(new Error(`interrupted by ${sig}`));
  });
}

const code = await main(process.argv.slice(2), {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
  stderrIsTTY: process.stderr.isTTY === true,
  env: process.env,
  signal: controller.signal,
});
process.exitCode = code;
