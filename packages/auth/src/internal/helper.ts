import { spawn } from "node:child_process";
import { AbortError, MissingToolError, throwIfAborted, type AuthConfig } from "@stevedore/types";
import { CredentialHelperError } from "../errors.js";

/** What a helper prints when it has no credentials for the server. */
const NOT_FOUND = "credentials not found in native keychain";
/** The most output accepted from a helper. */
const MAX_OUTPUT = 1 << 20;
/** The user name helpers use to return an identity (refresh) token. */
const TOKEN_USER = "<token>";

interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

/** Options of the helper calls. */
export interface HelperOptions {
  env: Readonly<Record<string, string | undefined>>;
  signal?: AbortSignal;
  /** Strings to remove from any text that ends up in an error. */
  secrets?: readonly string[];
}

function cleanEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

function redact(text: string, secrets: readonly string[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) if (s !== "") out = out.split(s).join("<redacted>");
  return out;
}

/** Runs `docker-credential-<helper> <action>` with `input` on stdin. */
function run(helper: string, action: string, input: string, options: HelperOptions): Promise<RunResult> {
  throwIfAborted(options.signal);
  const program = `docker-credential-${helper}`;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(program, [action], {
      env: cleanEnv(options.env),
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let tooLong = false;
    let settled = false;
    const settle = (fn: () => void) => {
      if (!settled) {
        settled = true;
        fn();
      }
    };
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT) {
        tooLong = true;
        child.kill("SIGKILL");
        return;
      }
      into.push(chunk);
    };
    child.stdout.on("data", collect(out));
    child.stderr.on("data", collect(err));
    child.stdin.on("error", () => {
      // The helper may exit without reading its input; its exit status tells what happened.
    });
    child.on("error", (e: Error & { code?: string }) => {
      settle(() => {
        if (options.signal?.aborted) {
          reject(new AbortError(`${program} ${action} was aborted`, { cause: options.signal.reason }));
        } else if (e.code === "ENOENT") {
          reject(
            new MissingToolError(
              `credential helper ${program} is not installed (not found on PATH); install it or remove "${helper}" from the configuration`,
              { cause: e },
            ),
          );
        } else {
          reject(new CredentialHelperError(helper, action, `cannot be started: ${e.message}`, { cause: e }));
        }
      });
    });
    child.on("close", (exitCode, signal) => {
      settle(() => {
        if (options.signal?.aborted) {
          reject(new AbortError(`${program} ${action} was aborted`, { cause: options.signal.reason }));
        } else if (tooLong) {
          reject(new CredentialHelperError(helper, action, `printed more than ${MAX_OUTPUT} bytes`));
        } else {
          resolve({
            stdout: Buffer.concat(out).toString("utf8"),
            stderr: Buffer.concat(err).toString("utf8"),
            exitCode,
            signal,
          });
        }
      });
    });
    child.stdin.end(input);
  });
}

function failure(helper: string, action: string, r: RunResult, secrets: readonly string[] | undefined): CredentialHelperError {
  const said = redact((r.stdout.trim() || r.stderr.trim()).slice(0, 500), secrets);
  const how = r.signal !== null ? `was killed by ${r.signal}` : `exited with status ${r.exitCode}`;
  return new CredentialHelperError(helper, action, said ? `${how}: ${said}` : how);
}

function isNotFound(r: RunResult): boolean {
  return r.stdout.trim() === NOT_FOUND || r.stderr.trim() === NOT_FOUND;
}

/**
 * Asks a helper for the credentials of `serverURL`; `undefined` when it has
 * none. A `<token>` user name means the secret is an identity token.
 */
export async function helperGet(helper: string, serverURL: string, options: HelperOptions): Promise<AuthConfig | undefined> {
  const r = await run(helper, "get", serverURL, options);
  if (r.exitCode !== 0) {
    if (isNotFound(r)) return undefined;
    throw failure(helper, "get", r, options.secrets);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.stdout);
  } catch {
    // The output would be the secret itself if the helper misbehaves: never quote it.
    throw new CredentialHelperError(helper, "get", "printed something that is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new CredentialHelperError(helper, "get", "printed JSON that is not an object");
  }
  const { Username: username = "", Secret: secret = "" } = parsed as { Username?: unknown; Secret?: unknown };
  if (typeof username !== "string" || typeof secret !== "string") {
    throw new CredentialHelperError(helper, "get", "printed JSON whose Username or Secret is not a string");
  }
  if (username === "" && secret === "") return undefined;
  if (username === TOKEN_USER) return { identityToken: secret };
  return { username, password: secret };
}

/** Stores credentials for `serverURL` in a helper. */
export async function helperStore(
  helper: string,
  serverURL: string,
  username: string,
  secret: string,
  options: HelperOptions,
): Promise<void> {
  const input = JSON.stringify({ ServerURL: serverURL, Username: username, Secret: secret });
  const r = await run(helper, "store", input, { ...options, secrets: [...(options.secrets ?? []), secret] });
  if (r.exitCode !== 0) throw failure(helper, "store", r, [...(options.secrets ?? []), secret]);
}

/** Erases the credentials of `serverURL` from a helper; false when it had none. */
export async function helperErase(helper: string, serverURL: string, options: HelperOptions): Promise<boolean> {
  const r = await run(helper, "erase", serverURL, options);
  if (r.exitCode === 0) return true;
  if (isNotFound(r)) return false;
  throw failure(helper, "erase", r, options.secrets);
}
