#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): blob copies make many short-lived buffers; a
// small young generation collects them sooner. Measured on a 1 GiB pull:
// peak RSS 210 -> 122 MiB, and less CPU. ./run and the benchmarks pass the
// same flag.
import { enableCompileCache } from "node:module";

// Cache V8's compiled code of our modules and undici's between runs (Node's
// own cache directory under the OS temp dir): it saves tens of milliseconds
// per command. Set NODE_DISABLE_COMPILE_CACHE=1 to turn it off.
enableCompileCache?.();

const { main } = await import("./main.js");

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
