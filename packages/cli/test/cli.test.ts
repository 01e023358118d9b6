import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, test } from "vitest";
import { UsageError, parseArgs, parseDuration, type OptionSpec } from "@stevedore/cli";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../dist/bundle/bin.js", import.meta.url));
const pkgVersion = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

async function stevedore(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("the stevedore command", () => {
  test("--version prints the package version", async () => {
    const r = await stevedore("--version");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`stevedore version ${pkgVersion}\n`);
  });

  test("--help explains usage, image names and global flags", async () => {
    const r = await stevedore("--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Usage:");
    expect(r.stdout).toContain("TRANSPORT:REFERENCE");
    expect(r.stdout).toContain("--insecure-policy");
  });

  test("an unknown verb is one line on stderr and exit status 2", async () => {
    const r = await stevedore("frobnicate");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^stevedore: unknown command "frobnicate"/);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/);
  });

  test("an unknown global flag is a usage error", async () => {
    const r = await stevedore("--no-such-flag", "inspect");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag --no-such-flag");
  });

  test("no verb at all prints usage to stderr with a non-zero status", async () => {
    const r = await stevedore();
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage:");
  });
});

describe("parseArgs()", () => {
  const specs: OptionSpec[] = [
    { name: "src-tls-verify", type: "boolean", help: "" },
    { name: "quiet", short: "q", type: "boolean", help: "" },
    { name: "format", short: "f", type: "string", help: "" },
    { name: "additional-tag", type: "list", help: "" },
  ];

  test("accepts skopeo's boolean forms", () => {
    expect(parseArgs(["--src-tls-verify=false"], specs).values["src-tls-verify"]).toBe(false);
    expect(parseArgs(["--src-tls-verify=true"], specs).values["src-tls-verify"]).toBe(true);
    expect(parseArgs(["--src-tls-verify"], specs).values["src-tls-verify"]).toBe(true);
    expect(() => parseArgs(["--src-tls-verify=maybe"], specs)).toThrow(UsageError);
  });

  test("takes string values inline or from the next argument, and repeats lists", () => {
    const { values, positionals } = parseArgs(
      ["-f", "oci", "a", "--additional-tag=x:1", "--additional-tag", "y:2", "-q", "b", "--", "--not-a-flag"],
      specs,
    );
    expect(values).toEqual({ format: "oci", "additional-tag": ["x:1", "y:2"], quiet: true });
    expect(positionals).toEqual(["a", "b", "--not-a-flag"]);
  });

  test("a string flag without a value is an error naming it", () => {
    expect(() => parseArgs(["--format"], specs)).toThrow("flag --format needs a value");
  });
});

describe("parseDuration()", () => {
  test.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
  ])("%s is %d ms", (s, ms) => expect(parseDuration(s)).toBe(ms));

  test.each(["", "10", "5 m", "1d", "m5"])("rejects %j", (s) => expect(() => parseDuration(s)).toThrow(UsageError));
});
