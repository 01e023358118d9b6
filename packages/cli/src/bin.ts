#!/usr/bin/env -S node --max-semi-space-size=1
// --max-semi-space-size=1 (MiB): blob copies make many short-lived buffers; a
// small young generation collects them sooner. Measured on a 1 GiB pull:
// peak RSS 210 -> 122 MiB, and less CPU. ./run and the benchmarks pass the
// same flag.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { enableCompileCache } from "node:module";
import { setFlagsFromString } from "node:v8";

// Cache V8's compiled code of our modules and undici's between runs (Node's
// own cache directory under the OS temp dir): it saves tens of milliseconds
// per command. Set NODE_DISABLE_COMPILE_CACHE=1 to turn it off.
enableCompileCache?.();

// undici parses HTTP/1 with llhttp compiled to WebAssembly. V8 soon starts
// recompiling the parser with its optimising tier on a background thread, and
// the process cannot exit before that job ends: it added 40-60 ms to the exit
// of every registry command (inspect --raw: 0.18 -> 0.14 s wall). llhttp's
// work is per header line, not per body byte, so the optimised tier buys a
// CLI nothing. Raise the tier-up budget while undici instantiates its parser
// (between the first connect and its completion), then restore the default,
// so that other WebAssembly (the xz decoder) tiers up as usual and V8's code
// caches of modules loaded later still match the process's flags.
{
  // V8's default in Node 24, unless the command line set another.
  const defaultBudget = /--wasm-tiering-budget=(\d+)/.exec(process.execArgv.join(" "))?.[1] ?? "13000000";
  const raise = (): void => setFlagsFromString("--wasm-tiering-budget=2000000000");
  const restore = (): void => {
    setFlagsFromString(`--wasm-tiering-budget=${defaultBudget}`);
    unsubscribe("undici:client:beforeConnect", raise);
    unsubscribe("undici:client:connected", restore);
  };
  subscribe("undici:client:beforeConnect", raise);
  subscribe("undici:client:connected", restore);
}

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
