import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireTool, startRegistry, type RegistryHandle } from "@stevedore/testing";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../dist/bundle/bin.js", import.meta.url));
const sample = fileURLToPath(new URL("../../../examples/sample-image", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "stevedore-cli-reg-"));
const policy = join(work, "policy.json");
writeFileSync(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
const authfile = join(work, "auth.json");

let registry: RegistryHandle;
beforeAll(async () => {
  registry = await startRegistry({ auth: "htpasswd", tls: true });
});
afterAll(async () => {
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function stevedore(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, "--policy", policy, ...args], { env: { ...process.env, HOME: work, REGISTRY_AUTH_FILE: "" } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

const tls = () => ["--cert-dir", join(registry.certsDir!, registry.host)];

describe("login, copy, list-tags, inspect, delete against a registry with htpasswd and TLS", () => {
  test("login refuses wrong credentials and stores right ones in a 0600 auth file", async () => {
    const bad = await stevedore(["login", "--authfile", authfile, ...tls(), "-u", registry.username!, "--password-stdin", registry.host], "wrong\n");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^stevedore: .*(unauthorized|credentials|401)/i);
    expect(bad.stderr).not.toContain("wrong");
    expect(() => statSync(authfile)).toThrow();

    const ok = await stevedore(["login", "--authfile", authfile, ...tls(), "-u", registry.username!, "--password-stdin", registry.host], registry.password + "\n");
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("Login Succeeded!");
    expect(statSync(authfile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(readFileSync(authfile, "utf8")) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(stored.auths[registry.host]!.auth, "base64").toString()).toBe(`${registry.username}:${registry.password}`);
    const who = await stevedore(["login", "--authfile", authfile, "--get-login", registry.host]);
    expect(who.stdout).toBe(`${registry.username}\n`);
  });

  test("copy pushes with the stored credentials, and skopeo pulls the same digest", async () => {
    const repo = `docker://${registry.host}/cli/sample`;
    const push = await stevedore(["copy", "--all", "--authfile", authfile, "--dest-cert-dir", join(registry.certsDir!, registry.host), `oci:${sample}:1.0`, `${repo}:1.0`]);
    expect(push.stderr).toBe("");
    expect(push.code).toBe(0);
    const digest = (await stevedore(["inspect", "--format", "{{.Digest}}", `oci:${sample}:1.0`])).stdout.trim();
    const { stdout } = await run(requireTool("skopeo"), [
      "--insecure-policy",
      "inspect",
      "--authfile",
      authfile,
      "--cert-dir",
      join(registry.certsDir!, registry.host),
      "--format",
      "{{.Digest}}",
      `${repo}:1.0`,
    ]);
    expect(stdout.trim()).toBe(digest);
    const remote = await stevedore(["inspect", "--authfile", authfile, ...tls(), "--format", "{{.Digest}} {{json .RepoTags}}", `${repo}:1.0`]);
    expect(remote.stdout.trim()).toBe(`${digest} ["1.0"]`);
  });

  test("list-tags and delete", async () => {
    const repo = `docker://${registry.host}/cli/tags`;
    for (const t of ["a", "b"]) {
      expect((await stevedore(["copy", "-q", "--authfile", authfile, "--dest-cert-dir", join(registry.certsDir!, registry.host), `oci:${sample}:1.0`, `${repo}:${t}`])).code).toBe(0);
    }
    const tags = await stevedore(["list-tags", "--authfile", authfile, ...tls(), repo]);
    const listed = JSON.parse(tags.stdout) as { Repository: string; Tags: string[] };
    expect(listed.Repository).toBe(`${registry.host}/cli/tags`);
    expect(listed.Tags.sort()).toEqual(["a", "b"]);
    expect((await stevedore(["delete", "--authfile", authfile, ...tls(), `${repo}:a`])).code).toBe(0);
    const gone = await stevedore(["inspect", "--authfile", authfile, ...tls(), `${repo}:b`]);
    // Both tags named the same manifest, which is gone now.
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/manifest unknown|not found|MANIFEST_UNKNOWN/i);
  });

  test("without credentials the registry's refusal is one line", async () => {
    const r = await stevedore(["inspect", ...tls(), `docker://${registry.host}/cli/sample:1.0`]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
  });

  test("logout removes the credentials", async () => {
    const r = await stevedore(["logout", "--authfile", authfile, registry.host]);
    expect(r.stdout).toBe(`Removed login credentials for ${registry.host}\n`);
    expect(JSON.parse(readFileSync(authfile, "utf8")).auths[registry.host]).toBeUndefined();
    const again = await stevedore(["logout", "--authfile", authfile, registry.host]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`not logged into ${registry.host}`);
  });
});
