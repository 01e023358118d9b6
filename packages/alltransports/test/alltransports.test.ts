import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import {
  createDefaultTransportRegistry,
  listBuiltinTransports,
  loadTransport,
  loadTransportPlugin,
  parseImageName,
} from "@stevedore/alltransports";
import { InvalidTransportPluginError, UnknownTransportError, UnsupportedError, imageName } from "@stevedore/types";

const dir = mkdtempSync(join(tmpdir(), "stevedore-plugins-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const typesUrl = import.meta.resolve("@stevedore/types");

function plugin(name: string, body: string): string {
  const file = join(dir, `${name}.mjs`);
  writeFileSync(file, body);
  return pathToFileURL(file).href;
}

const good = plugin(
  "good",
  `import { defineTransport, UnsupportedError } from ${JSON.stringify(typesUrl)};
   const t = defineTransport({
     name: "memo",
     parseReference(s) {
       return { transport: t, stringWithinTransport: () => s, dockerReference: () => undefined,
         policyConfigurationIdentity: () => s, policyConfigurationNamespaces: () => [],
         newImageSource: async () => { throw new UnsupportedError("no"); },
         newImageDestination: async () => { throw new UnsupportedError("no"); },
         deleteImage: async () => { throw new UnsupportedError("no"); } };
     },
     validatePolicyConfigurationScope() {},
   });
   export default t;`,
);

describe("built-in transports", () => {
  test("listBuiltinTransports() names every built-in transport", () => {
    expect(listBuiltinTransports()).toEqual(["dir", "docker", "docker-archive", "oci", "oci-archive", "tarball"]);
  });

  test.each([
    ["docker://quay.io/org/app:1", "docker", "//quay.io/org/app:1"],
    ["oci:/tmp/layout:v1", "oci", "/tmp/layout:v1"],
    ["dir:/tmp/image", "dir", "/tmp/image"],
    ["docker-archive:/tmp/a.tar:example.com/app:1", "docker-archive", "/tmp/a.tar:example.com/app:1"],
  ])("parseImageName(%j) loads only its transport and round-trips", async (name, transport, rest) => {
    const ref = await parseImageName(name);
    expect(ref.transport.name).toBe(transport);
    expect(ref.stringWithinTransport()).toBe(rest);
    expect(imageName(ref)).toBe(name);
  });

  test("an unknown transport lists the known names", async () => {
    await expect(parseImageName("ftp://x")).rejects.toThrow(UnknownTransportError);
    await expect(loadTransport("ftp")).rejects.toThrow(/known transports: dir, docker, docker-archive, oci, oci-archive, tarball/);
  });

  test("a containers/image transport Stevedore lacks says so", async () => {
    await expect(loadTransport("containers-storage")).rejects.toThrow(UnsupportedError);
    await expect(parseImageName("docker-daemon:busybox:latest")).rejects.toThrow(/docker-daemon transport is not supported/);
  });

  test("createDefaultTransportRegistry() holds every built-in", async () => {
    const r = await createDefaultTransportRegistry();
    expect(r.listTransports()).toEqual(listBuiltinTransports());
  });
});

describe("transport plugins", () => {
  test("a plugin's default export is loaded and usable by name", async () => {
    const ref = await parseImageName("memo:something", { plugins: [good] });
    expect(ref.transport.name).toBe("memo");
    expect((await createDefaultTransportRegistry({ plugins: [good] })).listTransports()).toContain("memo");
  });

  test("a module that does not export a transport is refused, naming it", async () => {
    const bad = plugin("bad", "export default { hello: 1 };");
    await expect(loadTransportPlugin(bad)).rejects.toThrow(InvalidTransportPluginError);
    await expect(loadTransportPlugin(bad)).rejects.toThrow(bad);
  });

  test("a plugin for another contract version is refused", async () => {
    const old = plugin(
      "old",
      `export default { apiVersion: 0, name: "old", parseReference() {}, validatePolicyConfigurationScope() {} };`,
    );
    await expect(loadTransportPlugin(old)).rejects.toThrow(/API version 0, but this Stevedore needs version 1/);
  });

  test("a plugin that cannot be imported is an error naming the specifier", async () => {
    await expect(loadTransportPlugin("stevedore-transport-does-not-exist")).rejects.toThrow(/cannot load transport plugin "stevedore-transport-does-not-exist"/);
  });

  test("a plugin may not replace a built-in transport", async () => {
    const shadow = plugin(
      "shadow",
      `import { defineTransport } from ${JSON.stringify(typesUrl)};
       export const transport = defineTransport({ name: "docker", parseReference() { throw new Error("x"); }, validatePolicyConfigurationScope() {} });`,
    );
    await expect(loadTransport("docker", { plugins: [shadow] })).rejects.toThrow(/may not replace the built-in transport "docker"/);
  });
});
