import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

const fixture = fileURLToPath(new URL("./fixtures/orphan.mjs", import.meta.url));

/** Whether `pid` is a running process (a zombie waiting to be reaped counts as ended). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** Waits until `pid` has ended; false if it still runs after `limit` ms (a generous bound, not a speed check). */
async function ended(pid: number, limit = 20_000): Promise<boolean> {
  const deadline = Date.now() + limit;
  while (Date.now() < deadline) {
    if (!running(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !running(pid);
}

function startOrphan(mode: "exit" | "hang") {
  const child = spawn(process.execPath, [fixture, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const info = new Promise<{ pid: number; port: number; dir: string }>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const line = out.split("\n")[0];
      if (out.includes("\n") && line) resolve(JSON.parse(line) as { pid: number; port: number; dir: string });
    });
    child.once("exit", (code) => reject(new Error(`fixture exited (${code}) before reporting: ${err}`)));
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, info, exited };
}

test("a test process that exits without stop() leaves no registry and no directory behind", async () => {
  const { info, exited } = startOrphan("exit");
  const { pid, dir } = await info;
  await exited;
  expect(await ended(pid)).toBe(true);
  expect(existsSync(dir)).toBe(false);
});

test("a test process killed with SIGKILL takes its registry down with it", async () => {
  const { child, info, exited } = startOrphan("hang");
  const { pid, dir } = await info;
  try {
    expect(running(pid)).toBe(true);
    child.kill("SIGKILL");
    await exited;
    expect(await ended(pid)).toBe(true);
  } finally {
    if (running(pid)) process.kill(pid, "SIGKILL");
    // Nothing ran to remove it: SIGKILL leaves no chance.
    await rm(dir, { recursive: true, force: true });
  }
});

test("startRegistry() without docker-registry on PATH fails with MissingToolError naming the Debian package", async () => {
  const missing = fileURLToPath(new URL("./fixtures/missing-tool.mjs", import.meta.url));
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, [missing], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, PATH: "/nonexistent" } });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d.toString()));
    child.once("error", reject);
    child.once("exit", () => resolve(text));
  });
  const result = JSON.parse(out) as { name?: string; code?: string; message?: string };
  expect(result).toMatchObject({ name: "MissingToolError", code: "ERR_MISSING_TOOL" });
  expect(result.message).toContain('"docker-registry"');
  expect(result.message).toContain('install the Debian package "docker-registry"');
});
