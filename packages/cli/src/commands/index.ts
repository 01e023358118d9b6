import type { Command } from "../command.js";

const lazy = (load: () => Promise<Command>, summary: string) => ({ summary, load });

/**
 * The verbs, each loaded only when used so that `stevedore --version` and
 * `--help` stay fast.
 */
export const commandLoaders: Readonly<Record<string, { summary: string; load: () => Promise<Command> }>> = {
  copy: lazy(async () => (await import("./copy.js")).copyCommand, "copy an image from one location to another"),
  inspect: lazy(async () => (await import("./inspect.js")).inspectCommand, "show an image's manifest, config and tags without pulling it"),
  "list-tags": lazy(async () => (await import("./registry.js")).listTagsCommand, "list the tags of a repository"),
  delete: lazy(async () => (await import("./registry.js")).deleteCommand, "delete an image from a registry"),
  login: lazy(async () => (await import("./login.js")).loginCommand, "log in to a registry and store the credentials"),
  logout: lazy(async () => (await import("./login.js")).logoutCommand, "remove the stored credentials of a registry"),
  "manifest-digest": lazy(async () => (await import("./sign.js")).manifestDigestCommand, "print the digest of a manifest file"),
  "generate-sigstore-key": lazy(async () => (await import("./sign.js")).generateSigstoreKeyCommand, "generate a sigstore (cosign) key pair for signing"),
  "standalone-sign": lazy(async () => (await import("./sign.js")).standaloneSignCommand, "sign a manifest file (simple signing) without an image"),
  "standalone-verify": lazy(async () => (await import("./sign.js")).standaloneVerifyCommand, "verify a simple-signing signature of a manifest file"),
};
