import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { requireTool } from "@stevedore/testing";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../dist/bundle/bin.js", import.meta.url));
const sample = fileURLToPath(new URL("../../../examples/sample-image", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "stevedore-cli-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const acceptAll = join(work, "accept.json");
writeFileSync(acceptAll, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
const rejectAll = join(work, "reject.json");
writeFileSync(rejectAll, JSON.stringify({ default: [{ type: "reject" }] }));

async function stevedore(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, HOME: work } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await run(requireTool("skopeo"), ["--insecure-policy", ...args]);
  return stdout;
}

describe("stevedore inspect", () => {
  test("prints what skopeo inspect prints for the same image", async () => {
    const ours = await stevedore("--override-arch", "arm64", "inspect", `oci:${sample}:1.0`);
    expect(ours.code).toBe(0);
    const theirs = JSON.parse(await skopeo("--override-arch", "arm64", "inspect", `oci:${sample}:1.0`)) as Record<string, unknown>;
    const mine = JSON.parse(ours.stdout) as Record<string, unknown>;
    for (const key of Object.keys(theirs)) expect(mine[key], key).toEqual(theirs[key]);
  });

  test("--raw prints the stored manifest byte for byte", async () => {
    const ours = await stevedore("inspect", "--raw", `oci:${sample}:1.0`);
    expect(ours.stdout).toBe(await skopeo("inspect", "--raw", `oci:${sample}:1.0`));
  });

  test("--config --raw prints the config; --format renders a template", async () => {
    const cfg = await stevedore("--override-arch", "amd64", "inspect", "--config", "--raw", `oci:${sample}:1.0`);
    expect(JSON.parse(cfg.stdout).architecture).toBe("amd64");
    const f = await stevedore("--override-arch", "arm64", "inspect", "--format", "{{.Architecture}}/{{.Os}} {{index .Labels \"org.opencontainers.image.version\"}}", `oci:${sample}:1.0`);
    expect(f.stdout).toBe("arm64/linux 1.0\n");
  });

  test("a missing image is one line on stderr and a non-zero status", async () => {
    const r = await stevedore("inspect", `oci:${sample}:no-such-tag`);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^stevedore: .*no-such-tag/);
  });
});

describe("stevedore copy", () => {
  test("copies every platform and skopeo reads the result with the same digest", async () => {
    const dest = join(work, "all");
    const r = await stevedore("--policy", acceptAll, "copy", "--all", `oci:${sample}:1.0`, `dir:${dest}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("Writing manifest");
    const digest = (await stevedore("inspect", "--format", "{{.Digest}}", `oci:${sample}:1.0`)).stdout.trim();
    expect((await skopeo("inspect", "--format", "{{.Digest}}", `dir:${dest}`)).trim()).toBe(digest);
  });

  test("--format v2s2 converts; --digestfile records the written digest", async () => {
    const dest = join(work, "s2");
    const digestfile = join(work, "digest.txt");
    const r = await stevedore("--policy", acceptAll, "--override-arch", "amd64", "copy", "-q", "--format", "v2s2", "--digestfile", digestfile, `oci:${sample}:1.0`, `dir:${dest}`);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("");
    const manifest = readFileSync(join(dest, "manifest.json"));
    expect(JSON.parse(manifest.toString()).mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(readFileSync(digestfile, "utf8")).toBe((await stevedore("manifest-digest", join(dest, "manifest.json"))).stdout.trim());
  });

  test("a policy that rejects stops the copy before anything is written", async () => {
    const dest = join(work, "rejected");
    const r = await stevedore("--policy", rejectAll, "copy", `oci:${sample}:1.0`, `dir:${dest}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^stevedore: .*reject/i);
    await expect(run("ls", [dest])).rejects.toBeTruthy();
  });

  test("--progress json writes one JSON event per line on stderr", async () => {
    const dest = join(work, "progress");
    const r = await stevedore("--policy", acceptAll, "copy", "--progress", "json", `oci:${sample}:1.0`, `oci:${dest}:x`);
    expect(r.code).toBe(0);
    const events = r.stderr.trim().split("\n").map((l) => JSON.parse(l) as { type: string });
    expect(events.some((e) => e.type === "artifact-done")).toBe(true);
    expect(events.some((e) => e.type === "artifact-bytes")).toBe(true);
  });

  test("usage errors exit with status 2", async () => {
    expect((await stevedore("copy", "oci:x")).code).toBe(2);
    expect((await stevedore("copy", "--format", "v3", "oci:a", "oci:b")).code).toBe(2);
    expect((await stevedore("copy", "--all", "--multi-arch", "all", "oci:a", "oci:b")).code).toBe(2);
  });

  test("an unknown transport lists the known ones", async () => {
    const r = await stevedore("--insecure-policy", "copy", "ftp://x", `dir:${join(work, "x")}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown transport "ftp"; known transports: .*docker.*oci/);
  });
});

describe("--output json and plugins", () => {
  test("copy --output json prints only the result on stdout", async () => {
    const r = await stevedore("--policy", acceptAll, "--override-arch", "amd64", "copy", "--output", "json", `oci:${sample}:1.0`, `oci:${join(work, "json")}:x`);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { Digest: string; MIMEType: string };
    expect(out.MIMEType).toBe("application/vnd.oci.image.manifest.v1+json");
    expect(out.Digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(r.stderr).toContain("Writing manifest");
  });

  test("a transport plugin named in STEVEDORE_TRANSPORT_PLUGINS or config.json is loaded; a broken one is named", async () => {
    const mod = join(work, "plugin.mjs");
    writeFileSync(
      mod,
      `import { defineTransport, ImageNotFoundError } from ${JSON.stringify(import.meta.resolve("@stevedore/types"))};
       const t = defineTransport({ name: "nowhere", validatePolicyConfigurationScope() {}, parseReference(s) {
         return { transport: t, stringWithinTransport: () => s, dockerReference: () => undefined, policyConfigurationIdentity: () => s,
           policyConfigurationNamespaces: () => [], newImageSource: async () => { throw new ImageNotFoundError("nowhere has no image " + s); },
           newImageDestination: async () => { throw new ImageNotFoundError("x"); }, deleteImage: async () => {} }; } });
       export default t;`,
    );
    const viaEnv = await run(process.execPath, [bin, "inspect", "nowhere:abc"], { env: { ...process.env, HOME: work, STEVEDORE_TRANSPORT_PLUGINS: mod } }).catch((e: { stderr: string }) => e);
    expect((viaEnv as { stderr: string }).stderr).toContain("nowhere has no image abc");
    const cfgHome = join(work, "cfg");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(cfgHome, "stevedore"), { recursive: true });
    writeFileSync(join(cfgHome, "stevedore", "config.json"), JSON.stringify({ transportPlugins: [mod] }));
    const viaCfg = await run(process.execPath, [bin, "inspect", "nowhere:xyz"], { env: { ...process.env, HOME: work, XDG_CONFIG_HOME: cfgHome } }).catch((e: { stderr: string }) => e);
    expect((viaCfg as { stderr: string }).stderr).toContain("nowhere has no image xyz");
    const broken = await stevedore("--transport-plugin", join(work, "missing.mjs"), "inspect", "nowhere:x");
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`cannot load transport plugin "${join(work, "missing.mjs")}"`);
  });
});

describe("standalone signing", () => {
  test("manifest-digest matches skopeo's", async () => {
    const m = join(work, "m.json");
    writeFileSync(m, await skopeo("inspect", "--raw", `oci:${sample}:1.0`));
    expect((await stevedore("manifest-digest", m)).stdout).toBe(await skopeo("manifest-digest", m));
    expect(JSON.parse((await stevedore("manifest-digest", "--output", "json", m)).stdout)).toEqual({ Digest: (await skopeo("manifest-digest", m)).trim() });
  });
});
