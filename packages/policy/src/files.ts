/// <reference types="node" />
import { access, readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { env } from "node:process";
import { InvalidConfigurationError, SizeLimitExceededError, type SystemContext } from "@stevedore/types";
import { createPolicyContext, type PolicyContext, type PolicyContextOptions } from "./evaluate.js";
import { parsePolicy, type TransportLookup } from "./parse.js";
import type { Policy } from "./types.js";

/** The system-wide policy path, below `rootForImplicitAbsolutePaths` when that is set. */
export const SYSTEM_POLICY_PATH = "/etc/containers/policy.json";

/** The per-user policy path, relative to the home directory. */
export const USER_POLICY_PATH = ".config/containers/policy.json";

/** The largest key file read for a policy (as a signature's limit). */
const MAX_KEY_FILE = 4 * 1024 * 1024;

function homeOf(ctx: SystemContext | undefined): string {
  return ctx?.homeDir ?? ctx?.env?.HOME ?? env.HOME ?? homedir();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The policy.json to use, as containers/image chooses it:
 * `ctx.signaturePolicyPath` (e.g. `--policy`) when set; else
 * `$HOME/.config/containers/policy.json` when it exists; else
 * `<rootForImplicitAbsolutePaths>/etc/containers/policy.json`.
 */
export async function defaultPolicyPath(ctx?: SystemContext): Promise<string> {
  if (ctx?.signaturePolicyPath) return ctx.signaturePolicyPath;
  const user = join(homeOf(ctx), USER_POLICY_PATH);
  if (await exists(user)) return user;
  return ctx?.rootForImplicitAbsolutePaths ? join(ctx.rootForImplicitAbsolutePaths, SYSTEM_POLICY_PATH) : SYSTEM_POLICY_PATH;
}

/**
 * Reads and parses the policy at `path` (default {@link defaultPolicyPath}).
 * A missing or unreadable file is InvalidConfigurationError naming the path
 * and how to fix it; never a fallback policy.
 */
export async function loadPolicy(
  ctx?: SystemContext,
  options: { path?: string; transports?: TransportLookup } = {},
): Promise<{ policy: Policy; path: string }> {
  const path = options.path ?? (await defaultPolicyPath(ctx));
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const hint =
      code === "ENOENT"
        ? `; create it (e.g. {"default":[{"type":"reject"}]}) or name another file with --policy`
        : "";
    throw new InvalidConfigurationError(`cannot read the signature policy ${path}: ${(e as Error).message}${hint}`, { cause: e });
  }
  return { policy: parsePolicy(bytes, { source: path, ...(options.transports ? { transports: options.transports } : {}) }), path };
}

/** Reads a key file named by a policy (`keyPath`, `keyPaths`), refusing files over 4 MiB. */
export async function readKeyFile(path: string, options: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
  const s = await stat(path);
  if (!s.isFile()) throw new InvalidConfigurationError(`the key file ${path} is not a regular file`);
  if (s.size > MAX_KEY_FILE) throw new SizeLimitExceededError(`the key file ${path} is larger than ${MAX_KEY_FILE} bytes`);
  return new Uint8Array(await readFile(path, options.signal ? { signal: options.signal } : {}));
}

/** {@link createPolicyContext} with {@link readKeyFile} as the default key reader. */
export function createNodePolicyContext(policy: Policy, options: PolicyContextOptions = {}): PolicyContext {
  return createPolicyContext(policy, { readKeyFile, ...options });
}
