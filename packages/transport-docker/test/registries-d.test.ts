// registries.d parsing, merging and lookup, against temp directories.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseNormalizedNamed } from "@stevedore/reference";
import {
  defaultLookasideBase,
  loadRegistriesDir,
  lookasideLocationFor,
  lookasideSignatureURL,
  mergeRegistriesDirFiles,
  parseRegistriesDirFile,
  registriesDirPath,
  sigstoreAttachmentTag,
  useSigstoreAttachmentsFor,
  type RegistriesDirConfig,
} from "@stevedore/transport-docker";
import { InvalidConfigurationError, InvalidDigestError, type Digest } from "@stevedore/types";

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "stevedore-registries-d-"));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const D = `sha256:${"ab".repeat(32)}` as Digest;
const ref = (s: string) => parseNormalizedNamed(s);
const config = async (text: string): Promise<RegistriesDirConfig> => mergeRegistriesDirFiles("/conf", [await parseRegistriesDirFile(text, "/conf/a.yaml")]);

async function dirWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(work, "d-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

describe("parseRegistriesDirFile()", () => {
  test("parseRegistriesDirFile() reads every key of default-docker and of docker namespaces", async () => {
    const f = await parseRegistriesDirFile(
      [
        "default-docker:",
        "  lookaside: https://sigs.example.com/a",
        "  lookaside-staging: file:///srv/a",
        "  sigstore: https://old.example.com/a",
        "  sigstore-staging: file:///srv/old",
        "  use-sigstore-attachments: true",
        "docker:",
        "  quay.io/org:",
        "    use-sigstore-attachments: no",
        "  example.com:",
        "",
      ].join("\n"),
      "/x/a.yaml",
    );
    expect(f.defaultDocker).toEqual({
      lookaside: "https://sigs.example.com/a",
      lookasideStaging: "file:///srv/a",
      sigstore: "https://old.example.com/a",
      sigstoreStaging: "file:///srv/old",
      useSigstoreAttachments: true,
      file: "/x/a.yaml",
    });
    expect(f.docker.get("quay.io/org")).toEqual({ useSigstoreAttachments: false, file: "/x/a.yaml" });
    expect(f.docker.get("example.com")).toEqual({ file: "/x/a.yaml" });
  });

  test("parseRegistriesDirFile() treats an empty file and an empty default-docker as defining nothing", async () => {
    expect(await parseRegistriesDirFile("", "/x/e.yaml")).toEqual({ file: "/x/e.yaml", docker: new Map() });
    expect((await parseRegistriesDirFile("# only a comment\n", "/x/e.yaml")).docker.size).toBe(0);
    expect((await parseRegistriesDirFile("default-docker:\n", "/x/e.yaml")).defaultDocker).toBeUndefined();
  });

  const bad: [string, string, RegExp][] = [
    ["an unknown top-level key", "defaults-docker:\n  lookaside: file:///x\n", /unknown key "defaults-docker"/],
    ["an unknown namespace key", "docker:\n  quay.io:\n    lookasid: file:///x\n", /"docker" namespace "quay.io" in \/x\/b.yaml: unknown key "lookasid"/],
    ["an unknown default-docker key", "default-docker:\n  use-cosign-attachments: true\n", /unknown key "use-cosign-attachments"/],
    ["a duplicate key in one file", "docker:\n  quay.io:\n    lookaside: file:///x\n  quay.io:\n    lookaside: file:///y\n", /parsing \/x\/b.yaml/],
    ["a relative path", "default-docker:\n  lookaside-staging: /mnt/nfs/sigstore\n", /not an absolute URL/],
    ["an ftp URL", "default-docker:\n  lookaside: ftp://example.com/s\n", /unsupported scheme ftp:/],
    ["a file URL with a host", "default-docker:\n  lookaside: file://server/s\n", /names a host/],
    ["a number as URL", "default-docker:\n  lookaside: 12\n", /must be a URL string/],
    ["a string as boolean", "default-docker:\n  use-sigstore-attachments: maybe\n", /must be true or false/],
    ["a list at the top", "- a\n- b\n", /must be a mapping/],
    ["a list as namespace", "docker:\n  quay.io: [1]\n", /must be a mapping of settings/],
    ["a list as docker", "docker: [1]\n", /"docker" must be a mapping/],
    ["invalid YAML", "docker: {\n", /parsing \/x\/b.yaml/],
  ];
  test.each(bad)("parseRegistriesDirFile() rejects %s with InvalidConfigurationError naming the file", async (_name, text, message) => {
    let err: unknown;
    try {
      await parseRegistriesDirFile(text, "/x/b.yaml");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toContain("/x/b.yaml");
  });
});

describe("loadRegistriesDir()", () => {
  test("loadRegistriesDir() merges every *.yaml file of the directory and ignores other files", async () => {
    const dir = await dirWith({
      "a.yaml": "default-docker:\n  lookaside: file:///a\n",
      "b.yaml": "docker:\n  quay.io:\n    lookaside: file:///b\n",
      "c.yml": "this is: [not read",
      "notes.txt": "nor: [this",
    });
    const c = await loadRegistriesDir({ registriesDirPath: dir });
    expect(c.dir).toBe(dir);
    expect(c.defaultDocker?.lookaside).toBe("file:///a");
    expect(c.defaultDocker?.file).toBe(join(dir, "a.yaml"));
    expect([...c.docker.keys()]).toEqual(["quay.io"]);
    expect(c.docker.get("quay.io")?.file).toBe(join(dir, "b.yaml"));
  });

  test("loadRegistriesDir() refuses default-docker defined in two files, naming both", async () => {
    const dir = await dirWith({ "a.yaml": "default-docker:\n  lookaside: file:///a\n", "b.yaml": "default-docker:\n  lookaside: file:///b\n" });
    const err = await loadRegistriesDir({ registriesDirPath: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toContain(`"default-docker" is defined both in ${join(dir, "a.yaml")} and in ${join(dir, "b.yaml")}`);
  });

  test("loadRegistriesDir() refuses a namespace defined in two files, naming both, even when their keys differ", async () => {
    const dir = await dirWith({
      "a.yaml": "docker:\n  quay.io/org:\n    lookaside: file:///a\n",
      "b.yaml": "docker:\n  quay.io/org:\n    use-sigstore-attachments: true\n",
    });
    const err = await loadRegistriesDir({ registriesDirPath: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidConfigurationError);
    expect((err as Error).message).toContain(`namespace "quay.io/org" is defined both in ${join(dir, "a.yaml")} and in ${join(dir, "b.yaml")}`);
  });

  test("loadRegistriesDir() accepts an empty default-docker in a second file (it defines nothing)", async () => {
    const dir = await dirWith({ "a.yaml": "default-docker:\n  lookaside: file:///a\n", "b.yaml": "default-docker:\n" });
    expect((await loadRegistriesDir({ registriesDirPath: dir })).defaultDocker?.lookaside).toBe("file:///a");
  });

  test("loadRegistriesDir() of a missing directory is an empty configuration", async () => {
    const c = await loadRegistriesDir({ registriesDirPath: join(work, "missing") });
    expect(c.defaultDocker).toBeUndefined();
    expect(c.docker.size).toBe(0);
  });

  test("loadRegistriesDir() reports a bad file with InvalidConfigurationError naming it", async () => {
    const dir = await dirWith({ "ok.yaml": "", "z-bad.yaml": "docker:\n  quay.io:\n    nonsense: 1\n" });
    await expect(loadRegistriesDir({ registriesDirPath: dir })).rejects.toThrow(join(dir, "z-bad.yaml"));
  });
});

describe("registriesDirPath()", () => {
  test("registriesDirPath() is ctx.registriesDirPath, else the user directory when it exists, else <root>/etc/containers/registries.d", async () => {
    const home = await mkdtemp(join(work, "home-"));
    const root = join(work, "root");
    expect(await registriesDirPath({ registriesDirPath: "/explicit", homeDir: home })).toBe("/explicit");
    expect(await registriesDirPath({ homeDir: home, rootForImplicitAbsolutePaths: root })).toBe(join(root, "etc/containers/registries.d"));
    await mkdir(join(home, ".config/containers/registries.d"), { recursive: true });
    expect(await registriesDirPath({ homeDir: home, rootForImplicitAbsolutePaths: root })).toBe(join(home, ".config/containers/registries.d"));
  });
});

describe("lookasideLocationFor() and useSigstoreAttachmentsFor()", () => {
  let c: RegistriesDirConfig;
  beforeAll(async () => {
    c = await config(
      [
        "default-docker:",
        "  lookaside: https://default.example.com/sigs",
        "  use-sigstore-attachments: true",
        "docker:",
        "  quay.io/org/app:v1:",
        "    lookaside: file:///identity",
        "  quay.io/org/app:",
        "    lookaside: file:///repo",
        "    use-sigstore-attachments: false",
        "  quay.io/org:",
        "    lookaside: https://org.example.com/sigs",
        "    lookaside-staging: file:///staging/org",
        "  quay.io:",
        "    use-sigstore-attachments: false",
        "  registry.example.com:",
        "    sigstore: file:///old-read",
        "    sigstore-staging: file:///old-write",
        "  registry.example.com/new:",
        "    lookaside: file:///new-read",
        "    sigstore: file:///old-ignored",
        "    sigstore-staging: file:///old-staging",
        "  '*.example.net':",
        "    lookaside: file:///wildcard",
        "",
      ].join("\n"),
    );
  });
  const cases: [string, boolean, string, string][] = [
    ["quay.io/org/app:v1", false, "file:///identity/org/app", `"docker" namespace "quay.io/org/app:v1"`],
    ["quay.io/org/app:v2", false, "file:///repo/org/app", `"docker" namespace "quay.io/org/app"`],
    // a more specific namespace with only a read URL wins for writing too (lookup is per section)
    ["quay.io/org/app:v2", true, "file:///repo/org/app", `"docker" namespace "quay.io/org/app"`],
    ["quay.io/org/other:1", false, "https://org.example.com/sigs/org/other", `"docker" namespace "quay.io/org"`],
    ["quay.io/org/other:1", true, "file:///staging/org/org/other", `"docker" namespace "quay.io/org"`],
    // quay.io sets no URL: on to default-docker
    ["quay.io/elsewhere/x:1", false, "https://default.example.com/sigs/elsewhere/x", `"default-docker"`],
    ["registry.example.com/a/b:1", false, "file:///old-read/a/b", `"docker" namespace "registry.example.com"`],
    ["registry.example.com/a/b:1", true, "file:///old-write/a/b", `"docker" namespace "registry.example.com"`],
    ["registry.example.com/new:1", false, "file:///new-read/new", `"docker" namespace "registry.example.com/new"`],
    ["registry.example.com/new:1", true, "file:///old-staging/new", `"docker" namespace "registry.example.com/new"`],
    ["mirror.example.net:5000/x/y:1", false, "file:///wildcard/x/y", `"docker" namespace "*.example.net"`],
    ["busybox", false, "https://default.example.com/sigs/library/busybox", `"default-docker"`],
  ];
  test.each(cases)("lookasideLocationFor(%s, write=%s) is %s from %s", (text, write, url, section) => {
    const loc = lookasideLocationFor(c, ref(text), { write });
    expect(loc.url.href).toBe(url);
    expect(loc.section).toBe(section);
    expect(loc.file).toBe("/conf/a.yaml");
  });

  test("lookasideLocationFor() names the setting it used", () => {
    expect(lookasideLocationFor(c, ref("quay.io/org/x:1"), { write: true }).key).toBe("lookaside-staging");
    expect(lookasideLocationFor(c, ref("registry.example.com/a:1"), { write: true }).key).toBe("sigstore-staging");
    expect(lookasideLocationFor(c, ref("registry.example.com/a:1"), { write: false }).key).toBe("sigstore");
  });

  test("lookasideLocationFor() uses the built-in default for reading and writing when nothing is configured", async () => {
    const empty = await config("");
    const ctx = { homeDir: "/home/u", rootForImplicitAbsolutePaths: "/chroot" };
    for (const write of [false, true]) {
      const loc = lookasideLocationFor(empty, ref("example.com/a/b:1"), { write, ctx });
      expect(loc.section).toBe("built-in default");
      expect(loc.key).toBeUndefined();
      expect(loc.url.href).toBe(`${defaultLookasideBase(ctx).href}/a/b`);
    }
  });

  test("defaultLookasideBase() is /var/lib/containers/sigstore under the root for root, else ~/.local/share/containers/sigstore", () => {
    const ctx = { homeDir: "/home/u", rootForImplicitAbsolutePaths: "/chroot" };
    const expected = process.geteuid?.() === 0 ? "/chroot/var/lib/containers/sigstore" : "/home/u/.local/share/containers/sigstore";
    expect(defaultLookasideBase(ctx).href).toBe(pathToFileURL(expected).href);
  });

  const attach: [string, boolean][] = [
    ["quay.io/org/app:v1", false], // identity section has no setting; quay.io/org/app says false
    ["quay.io/org/other:1", false], // quay.io says false
    ["docker.io/library/busybox:1", true], // default-docker
    ["registry.example.com/a:1", true],
  ];
  test.each(attach)("useSigstoreAttachmentsFor(%s) is %s", (text, expected) => {
    expect(useSigstoreAttachmentsFor(c, ref(text))).toBe(expected);
  });

  test("useSigstoreAttachmentsFor() is false when nothing is configured", async () => {
    expect(useSigstoreAttachmentsFor(await config(""), ref("quay.io/a:1"))).toBe(false);
  });
});

describe("storage names", () => {
  test("lookasideSignatureURL() appends @<alg>=<hex>/signature-<n> to the repository's base", () => {
    const base = new URL("https://sigs.example.com/store/org/app");
    expect(lookasideSignatureURL(base, D, 1).href).toBe(`https://sigs.example.com/store/org/app@sha256=${"ab".repeat(32)}/signature-1`);
    expect(lookasideSignatureURL(new URL("file:///s/x"), D, 12).href).toBe(`file:///s/x@sha256=${"ab".repeat(32)}/signature-12`);
    expect(() => lookasideSignatureURL(base, "sha256:../../etc" as Digest, 1)).toThrow(InvalidDigestError);
    expect(() => lookasideSignatureURL(base, D, 0)).toThrow(RangeError);
  });

  test("sigstoreAttachmentTag() is <alg>-<hex>.sig and refuses invalid digests", () => {
    expect(sigstoreAttachmentTag(D)).toBe(`sha256-${"ab".repeat(32)}.sig`);
    expect(() => sigstoreAttachmentTag("sha256:zz" as Digest)).toThrow(InvalidDigestError);
  });
});
