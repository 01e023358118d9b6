import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { parseImageName } from "@stevedore/alltransports";
import { createDefaultCache } from "@stevedore/blobinfocache-sqlite";
import type { PolicyContext } from "@stevedore/policy";
import { InvalidConfigurationError, type ImageReference, type SignatureMechanismProvider, type SystemContext } from "@stevedore/types";
import type { CommandContext } from "./command.js";

/**
 * Transport plugins to load: `--transport-plugin` flags, then
 * STEVEDORE_TRANSPORT_PLUGINS (comma-separated), then `transportPlugins` in
 * `$XDG_CONFIG_HOME/stevedore/config.json` (default ~/.config).
 */
export function transportPlugins(ctx: CommandContext): string[] {
  const out = [...ctx.global.transportPlugins];
  const env = ctx.io.env.STEVEDORE_TRANSPORT_PLUGINS;
  if (env) out.push(...env.split(",").map((s) => s.trim()).filter(Boolean));
  const home = ctx.io.env.HOME ?? homedir();
  const file = join(ctx.io.env.XDG_CONFIG_HOME || join(home, ".config"), "stevedore", "config.json");
  if (existsSync(file)) {
    let config: { transportPlugins?: unknown };
    try {
      config = JSON.parse(readFileSync(file, "utf8")) as { transportPlugins?: unknown };
    } catch (e) {
      throw new InvalidConfigurationError(`${file}: ${(e as Error).message}`, { cause: e });
    }
    const list = config.transportPlugins;
    if (list !== undefined && (!Array.isArray(list) || list.some((x) => typeof x !== "string"))) {
      throw new InvalidConfigurationError(`${file}: "transportPlugins" must be a list of module specifiers`);
    }
    out.push(...((list as string[] | undefined) ?? []));
  }
  return [...new Set(out)];
}

/** Parses `transport:reference`, loading only that transport (and the configured plugins). */
export function parseImage(ctx: CommandContext, name: string): Promise<ImageReference> {
  return parseImageName(name, { plugins: transportPlugins(ctx) });
}

/**
 * The signature mechanism backend: `openpgp` (default, pure JS) or `gpg`
 * (the system's gpg and keyrings), chosen with STEVEDORE_SIGNATURE_BACKEND.
 */
export async function mechanismProvider(ctx: CommandContext): Promise<SignatureMechanismProvider> {
  const name = ctx.io.env.STEVEDORE_SIGNATURE_BACKEND ?? "openpgp";
  if (name === "gpg") return (await import("@stevedore/signature-gpg")).gpgMechanismProvider;
  if (name === "openpgp") return (await import("@stevedore/signature-openpgp")).openpgpMechanismProvider;
  const { UsageError } = await import("./args.js");
  throw new UsageError(`STEVEDORE_SIGNATURE_BACKEND="${name}": expected "openpgp" or "gpg"`);
}

/**
 * The trust policy (policy.json from --policy, the user's or the system's
 * file), or undefined with --insecure-policy.
 */
export async function loadPolicyContext(ctx: CommandContext, sys: SystemContext): Promise<PolicyContext | undefined> {
  if (ctx.global.insecurePolicy) return undefined;
  const { loadPolicy, createNodePolicyContext } = await import("@stevedore/policy/node");
  const { policy } = await loadPolicy(sys, ctx.global.policy !== undefined ? { path: ctx.global.policy } : {});
  const { createSigstoreVerifier } = await import("@stevedore/signature-sigstore");
  return createNodePolicyContext(policy, { mechanismProvider: await mechanismProvider(ctx), sigstoreVerifier: createSigstoreVerifier() });
}

/** The persistent blob-info cache (sqlite), or memory when it cannot be used (with a warning on stderr). */
export function openBlobInfoCache(ctx: CommandContext, sys: SystemContext): ReturnType<typeof createDefaultCache> {
  return createDefaultCache(sys, {
    onWarning: (w) => ctx.io.stderr(`stevedore: warning: ${typeof w === "string" ? w : (w as { message: string }).message}\n`),
  });
}
