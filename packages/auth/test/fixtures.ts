import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { SystemContext } from "@stevedore/types";

/**
 * A real credential helper, `docker-credential-test`, speaking the
 * docker-credential-helpers protocol: it keeps one JSON file per server URL
 * in `$TEST_HELPER_STORE` and appends "<action> <server>" to
 * `$TEST_HELPER_STORE/log` (never the secret). Some server names make it
 * misbehave on purpose.
 */
const HELPER_SCRIPT = `#!/bin/sh
store="$TEST_HELPER_STORE"
action="$1"
input=$(cat)
case "$action" in
  get|erase) server="$input" ;;
  store) server=$(printf '%s' "$input" | sed -n 's/.*"ServerURL":"\\([^"]*\\)".*/\\1/p') ;;
  *) echo "unknown action $action"; exit 2 ;;
esac
echo "$action $server" >> "$store/log"
file="$store/$(printf '%s' "$server" | tr '/:' '__').json"
case "$server" in
  broken.example) echo "the keychain is locked"; exit 3 ;;
  garbage.example) echo "hunter2-not-json"; exit 0 ;;
  token.example) printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-token-1"}' "$server"; exit 0 ;;
  echo.example) if [ "$action" = store ]; then echo "cannot store $input"; exit 4; fi ;;
esac
case "$action" in
  get)
    if [ -f "$file" ]; then cat "$file"; exit 0; fi
    echo "credentials not found in native keychain"; exit 1 ;;
  store)
    printf '%s' "$input" > "$file"; exit 0 ;;
  erase)
    if [ -f "$file" ]; then rm -f "$file"; exit 0; fi
    echo "credentials not found in native keychain"; exit 1 ;;
esac
`;

/** A temporary world: home, XDG dirs, a helper on a private PATH, and a SystemContext for it. */
export interface World {
  dir: string;
  home: string;
  runtimeDir: string;
  helperStore: string;
  /** PATH with the helper directory first (only for the child: never set on this process). */
  helperPath: string;
  ctx(extra?: SystemContext, env?: Record<string, string | undefined>): SystemContext;
  /** Writes a file, creating directories; returns its path. */
  put(path: string, text: string): Promise<string>;
  cleanup(): Promise<void>;
}

export async function makeWorld(): Promise<World> {
  const dir = await mkdtemp(join(tmpdir(), "stevedore-auth-"));
  const home = join(dir, "home");
  const runtimeDir = join(dir, "run");
  const helperStore = join(dir, "helper-store");
  const bin = join(dir, "bin");
  await Promise.all([mkdir(home), mkdir(runtimeDir), mkdir(helperStore), mkdir(bin)]);
  const helper = join(bin, "docker-credential-test");
  await writeFile(helper, HELPER_SCRIPT);
  await chmod(helper, 0o755);
  const helperPath = `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}`;
  return {
    dir,
    home,
    runtimeDir,
    helperStore,
    helperPath,
    ctx(extra = {}, env = {}) {
      return {
        homeDir: home,
        env: { HOME: home, XDG_RUNTIME_DIR: runtimeDir, PATH: helperPath, TEST_HELPER_STORE: helperStore, ...env },
        ...extra,
      };
    },
    async put(path, text) {
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      return path;
    },
    async cleanup() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** base64("user:password") */
export function b64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
