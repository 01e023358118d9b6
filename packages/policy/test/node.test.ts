import { afterAll, describe, expect, test } from "vitest";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNodePolicyContext, defaultPolicyPath, loadPolicy, readKeyFile, SYSTEM_POLICY_PATH } from "@stevedore/policy/node";
import { InvalidConfigurationError } from "@stevedore/types";
import { image, MANIFEST, testDockerTransport } from "./helpers.js";

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "stevedore-policy-"));
  dirs.push(d);
  return d;
}

describe("@stevedore/policy/node", () => {
  test("defaultPolicyPath() prefers signaturePolicyPath, then the user's file if it exists, then <root>/etc/containers/policy.json", async () => {
    const home = await tempDir();
    const root = await tempDir();
    expect(await defaultPolicyPath({ signaturePolicyPath: "/x/policy.json", homeDir: home })).toBe("/x/policy.json");
    expect(await defaultPolicyPath({ homeDir: home, rootForImplicitAbsolutePaths: root })).toBe(join(root, SYSTEM_POLICY_PATH));
    expect(await defaultPolicyPath({ homeDir: home })).toBe(SYSTEM_POLICY_PATH);
    await mkdir(join(home, ".config/containers"), { recursive: true });
    await writeFile(join(home, ".config/containers/policy.json"), '{"default":[{"type":"reject"}]}');
    expect(await defaultPolicyPath({ homeDir: home, rootForImplicitAbsolutePaths: root })).toBe(join(home, ".config/containers/policy.json"));
    expect(await defaultPolicyPath({ env: { HOME: home } })).toBe(join(home, ".config/containers/policy.json"));
  });

  test("loadPolicy() reads and parses the chosen file, naming it in errors", async () => {
    const d = await tempDir();
    const good = join(d, "good.json");
    await writeFile(good, '{"default":[{"type":"insecureAcceptAnything"}]}');
    const { policy, path } = await loadPolicy({ signaturePolicyPath: good });
    expect(path).toBe(good);
    expect(policy.default).toEqual([{ type: "insecureAcceptAnything" }]);
    const bad = join(d, "bad.json");
    await writeFile(bad, '{"default":[{"type":"insecureAcceptAnything","x":1}]}');
    await expect(loadPolicy({ signaturePolicyPath: bad })).rejects.toThrow(`invalid policy in ${bad}: default[0].x: unknown field "x"`);
    const missing = join(d, "missing.json");
    await expect(loadPolicy({ signaturePolicyPath: missing })).rejects.toBeInstanceOf(InvalidConfigurationError);
    await expect(loadPolicy({ signaturePolicyPath: missing })).rejects.toThrow(new RegExp(`cannot read the signature policy ${missing}.*--policy`));
  });

  test("loadPolicy() validates scopes with the given transports", async () => {
    const d = await tempDir();
    const f = join(d, "p.json");
    await writeFile(f, '{"default":[{"type":"reject"}],"transports":{"docker":{"Not A Scope":[{"type":"reject"}]}}}');
    await expect(loadPolicy({}, { path: f, transports: { get: (n) => (n === "docker" ? testDockerTransport : undefined) } })).rejects.toThrow(
      /transports\.docker\["Not A Scope"\]: invalid scope for the docker transport/,
    );
  });

  test("readKeyFile() reads a regular file and refuses a directory", async () => {
    const d = await tempDir();
    await writeFile(join(d, "k"), "key bytes");
    expect(new TextDecoder().decode(await readKeyFile(join(d, "k")))).toBe("key bytes");
    await expect(readKeyFile(d)).rejects.toBeInstanceOf(InvalidConfigurationError);
  });

  test("createNodePolicyContext() evaluates with the policy", async () => {
    const { policy } = await loadPolicy({}, { path: await (async () => {
      const f = join(await tempDir(), "p.json");
      await writeFile(f, '{"default":[{"type":"insecureAcceptAnything"}]}');
      return f;
    })() });
    const c = createNodePolicyContext(policy);
    await expect(c.isRunningImageAllowed(image(testDockerTransport.parseReference("//quay.io/a/b:1"), MANIFEST, []))).resolves.toBe(true);
    await c.close();
  });
});
