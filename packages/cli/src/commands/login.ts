import { readFileSync } from "node:fs";
import { UsageError } from "../args.js";
import type { Command, CommandContext } from "../command.js";
import { contextFromFlags } from "../flags.js";

const connectionOptions = [
  { name: "authfile", type: "string", arg: "PATH", help: "the auth file to write (default: $XDG_RUNTIME_DIR/containers/auth.json)" },
  { name: "cert-dir", type: "string", arg: "DIR", help: "use the certificates in DIR for the registry" },
  { name: "tls-verify", type: "boolean", help: "require HTTPS and verify certificates (default true)" },
  { name: "trusted-token-realm", type: "list", arg: "ORIGIN", help: "a token server on another origin that may receive the credentials" },
] as const;

/** `host[:port]` or `host[:port]/namespace`, as skopeo accepts for login/logout (a docker:// prefix is tolerated). */
function registryArg(ctx: CommandContext, verb: string): string {
  if (ctx.positionals.length !== 1) throw new UsageError(`${verb} needs exactly one argument: REGISTRY`);
  let r = ctx.positionals[0]!;
  if (r.startsWith("docker://")) r = r.slice("docker://".length);
  r = r.replace(/\/+$/, "");
  if (r === "" || /^https?:\/\//.test(r)) throw new UsageError(`${verb}: give the registry as HOST[:PORT][/NAMESPACE], not "${ctx.positionals[0]}"`);
  return r;
}

function readStdin(): string {
  const text = readFileSync(0, "utf8");
  return text.replace(/\r?\n$/, "");
}

export const loginCommand: Command = {
  name: "login",
  summary: "log in to a registry and store the credentials",
  usage: "stevedore login [flags] REGISTRY",
  description: [
    "Checks the credentials against REGISTRY, then stores them in the auth file (mode 0600, written",
    "atomically) or the configured credential helper. The password comes from --password or, better,",
    "--password-stdin.",
  ].join("\n"),
  options: [
    { name: "username", short: "u", type: "string", arg: "USER", help: "user name" },
    { name: "password", short: "p", type: "string", arg: "PASS", help: "password (visible to other users of this machine; prefer --password-stdin)" },
    { name: "password-stdin", type: "boolean", help: "read the password from standard input" },
    { name: "get-login", type: "boolean", help: "print the user name stored for REGISTRY instead of logging in" },
    ...connectionOptions,
  ],
  async run(ctx) {
    const registry = registryArg(ctx, "login");
    const host = registry.split("/")[0]!;
    const v = ctx.values;
    // --username/--password here are what to store, not credentials to connect with.
    const sys = contextFromFlags({ ...ctx, values: { ...v, username: undefined, password: undefined } }, "");
    const auth = await import("@stevedore/auth");
    if (v["get-login"] === true) {
      const found = await auth.getCredentials(sys, registry, { signal: ctx.io.signal });
      if (!found?.username) throw new UsageError(`not logged into ${registry}`);
      ctx.io.stdout(found.username + "\n");
      return 0;
    }
    const username = typeof v.username === "string" ? v.username : undefined;
    if (!username) throw new UsageError("login needs --username");
    if (v.password !== undefined && v["password-stdin"] === true) throw new UsageError("--password and --password-stdin cannot be used together");
    const password = v["password-stdin"] === true ? readStdin() : typeof v.password === "string" ? v.password : undefined;
    if (password === undefined || password === "") throw new UsageError("login needs a password: --password-stdin (or --password)");
    const { checkAuth } = await import("@stevedore/transport-docker");
    await checkAuth(host, { ...sys, dockerAuthConfig: { username, password } }, { signal: ctx.io.signal });
    const where = await auth.setCredentials(sys, registry, username, password, { signal: ctx.io.signal });
    ctx.io.stdout(`Login Succeeded! (credentials stored in ${where})\n`);
    return 0;
  },
};

export const logoutCommand: Command = {
  name: "logout",
  summary: "remove the stored credentials of a registry",
  usage: "stevedore logout [flags] REGISTRY",
  options: [{ name: "authfile", type: "string", arg: "PATH", help: "the auth file to edit" }],
  async run(ctx) {
    const registry = registryArg(ctx, "logout");
    const sys = contextFromFlags(ctx, "");
    const { removeCredentials } = await import("@stevedore/auth");
    if (!(await removeCredentials(sys, registry, { signal: ctx.io.signal }))) throw new UsageError(`not logged into ${registry}`);
    ctx.io.stdout(`Removed login credentials for ${registry}\n`);
    return 0;
  },
};
