import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, test } from "vitest";
import { requireTool } from "@stevedore/testing";

const run = promisify(execFile);
const bin = fileURLToPath(new URL("../dist/bundle/bin.js", import.meta.url));
const sample = fileURLToPath(new URL("../../../examples/sample-image", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "stevedore-cli-sign-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const accept = join(work, "accept.json");
writeFileSync(accept, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));

async function stevedore(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env: { ...process.env, HOME: work, ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe("sigstore signing end to end", () => {
  test("generate-sigstore-key, sign a copy, and a sigstoreSigned policy accepts it and rejects a tampered one", async () => {
    const pass = join(work, "pass");
    writeFileSync(pass, "correct horse\n");
    const prefix = join(work, "key");
    const gen = await stevedore(["generate-sigstore-key", "--output-prefix", prefix, "--passphrase-file", pass]);
    expect(gen.code).toBe(0);
    expect(statSync(`${prefix}.private`).mode & 0o777).toBe(0o600);
    expect(readFileSync(`${prefix}.pub`, "utf8")).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect((await stevedore(["generate-sigstore-key", "--output-prefix", prefix, "--passphrase-file", pass])).stderr).toContain("already exists");

    const signed = join(work, "signed");
    const copy = await stevedore([
      "--policy", accept, "--override-arch", "amd64", "copy",
      "--sign-by-sigstore-private-key", `${prefix}.private`, "--sign-passphrase-file", pass,
      "--sign-identity", "example.com/sample:1.0",
      `oci:${sample}:1.0`, `dir:${signed}`,
    ]);
    expect(copy.stderr).toBe("");
    expect(copy.code).toBe(0);
    expect(readdirSync(signed)).toContain("signature-1");
    expect(readFileSync(join(signed, "signature-1")).subarray(0, 15).toString()).toBe("\0sigstore-json\n");

    const policy = join(work, "sigstore-policy.json");
    // dir: has no docker reference of its own, so match the signed identity explicitly.
    writeFileSync(
      policy,
      JSON.stringify({
        default: [{ type: "reject" }],
        transports: {
          dir: { "": [{ type: "sigstoreSigned", keyPath: `${prefix}.pub`, signedIdentity: { type: "exactReference", dockerReference: "example.com/sample:1.0" } }] },
          oci: { "": [{ type: "insecureAcceptAnything" }] },
        },
      }),
    );
    const ok = await stevedore(["--policy", policy, "copy", "--remove-signatures", `dir:${signed}`, `oci:${join(work, "verified")}:x`]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);

    // Another key's public half: rejected before anything is written.
    const other = join(work, "other");
    await stevedore(["generate-sigstore-key", "--output-prefix", other, "--passphrase-file", pass]);
    writeFileSync(policy, readFileSync(policy, "utf8").replaceAll(`${prefix}.pub`, `${other}.pub`));
    const bad = await stevedore(["--policy", policy, "copy", "--remove-signatures", `dir:${signed}`, `oci:${join(work, "rejected")}:x`]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^stevedore: .*(rejected|signature)/i);
    expect(() => statSync(join(work, "rejected"))).toThrow();
  });
});

/** One RSA signing key in a fresh GNUPGHOME, made by the real gpg. */
async function gpgKey(): Promise<{ home: string; fingerprint: string; publicKeyPath: string }> {
  const gpg = requireTool("gpg");
  const home = mkdtempSync(join(tmpdir(), "stevedore-cli-gpg-"));
  const env = { ...process.env, GNUPGHOME: home };
  await run(gpg, ["--batch", "--passphrase", "", "--quick-gen-key", "Stevedore CLI test <cli@example.com>", "rsa2048", "sign", "never"], { env });
  const { stdout } = await run(gpg, ["--batch", "--with-colons", "--list-secret-keys"], { env });
  const fingerprint = stdout.split("\n").find((l) => l.startsWith("fpr:"))!.split(":")[9]!;
  const publicKeyPath = join(home, "public.gpg");
  await run(gpg, ["--batch", "--output", publicKeyPath, "--export", fingerprint], { env });
  cleanupHomes.push(async () => {
    await run("gpgconf", ["--kill", "gpg-agent"], { env }).catch(() => {});
    rmSync(home, { recursive: true, force: true });
  });
  return { home, fingerprint, publicKeyPath };
}
const cleanupHomes: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanupHomes) await c();
});

describe("simple signing end to end", () => {
  test("copy --sign-by with gpg, then a signedBy policy accepts it; skopeo standalone-verify agrees", async () => {
    const keys = await gpgKey();
    const signed = join(work, "gpg-signed");
    const copy = await stevedore(
      ["--policy", accept, "--override-arch", "arm64", "copy", "--sign-by", keys.fingerprint, "--sign-identity", "example.com/sample:1.0", `oci:${sample}:1.0`, `dir:${signed}`],
      { GNUPGHOME: keys.home },
    );
    expect(copy.stderr).toBe("");
    expect(copy.code).toBe(0);
    const policy = join(work, "gpg-policy.json");
    writeFileSync(
      policy,
      JSON.stringify({
        default: [{ type: "reject" }],
        transports: {
          dir: { "": [{ type: "signedBy", keyType: "GPGKeys", keyPath: keys.publicKeyPath, signedIdentity: { type: "exactReference", dockerReference: "example.com/sample:1.0" } }] },
          oci: { "": [{ type: "insecureAcceptAnything" }] },
        },
      }),
    );
    const ok = await stevedore(["--policy", policy, "copy", "--remove-signatures", `dir:${signed}`, `oci:${join(work, "gpg-verified")}:x`]);
    expect(ok.stderr).toBe("");
    expect(ok.code).toBe(0);
    const { stdout } = await run(requireTool("skopeo"), ["standalone-verify", join(signed, "manifest.json"), "example.com/sample:1.0", keys.fingerprint, join(signed, "signature-1")], {
      env: { ...process.env, GNUPGHOME: keys.home },
    });
    expect(stdout).toMatch(/^Signature verified.*digest sha256:[0-9a-f]{64}/);
  });
});
