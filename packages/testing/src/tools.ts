import { execFileSync } from "node:child_process";
import { MissingToolError } from "@stevedore/types";

/** The Debian package that provides each system tool the tests use (as tools/setup-system.sh installs them). */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = Object.freeze({
  "docker-registry": "docker-registry",
  skopeo: "skopeo",
  umoci: "umoci",
  gpg: "gnupg",
  htpasswd: "apache2-utils",
  openssl: "openssl",
  zstd: "zstd",
  xz: "xz-utils",
  bzip2: "bzip2",
  gzip: "gzip",
  tar: "tar",
});

const found = new Map<string, string>();

/**
 * The absolute path of system tool `name`. When it is missing this throws
 * {@link MissingToolError} naming the Debian package to install, so that a test
 * needing it fails with that message instead of being skipped.
 */
export function requireTool(name: string): string {
  const cached = found.get(name);
  if (cached) return cached;
  let path = "";
  try {
    path = execFileSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" }).trim();
  } catch {
    path = "";
  }
  if (!path) {
    const pkg = TOOL_PACKAGES[name] ?? name;
    throw new MissingToolError(
      `this test needs the system tool "${name}", which is not installed: install the Debian package "${pkg}" (tools/setup-system.sh installs every tool the tests use)`,
    );
  }
  found.set(name, path);
  return path;
}
