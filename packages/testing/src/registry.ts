import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, openSync, rmSync, writeSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onProcessExit } from "./internal/cleanup.js";
import { runTool } from "./internal/run.js";
import { createTestCertificates, writeCertsDir, type TestCertificates } from "./tls.js";
import { FULL_ACCESS, PULL_ONLY, startTokenServer, type TokenServer, type TokenServerOptions } from "./token-server.js";
import { requireTool } from "./tools.js";

/** How the registry authenticates clients. */
export type RegistryAuth = "none" | "htpasswd" | "token";

/** Options of {@link startRegistry}. */
export interface StartRegistryOptions {
  /**
   * `none` (default): anyone may pull and push. `htpasswd`: HTTP Basic auth
   * against an htpasswd file made by the real `htpasswd -Bbn`. `token`: Docker
   * token auth against a {@link TokenServer} started (and stopped) with the registry.
   */
  auth?: RegistryAuth;
  /**
   * Serve HTTPS with a server certificate for 127.0.0.1/localhost signed by a
   * throw-away CA; the CA is exposed as `caPem` and as a containers-certs.d(5)
   * directory `certsDir`. With `auth: "token"` the token server uses HTTPS too.
   */
  tls?: boolean;
  /** The user name for `htpasswd`/`token` auth. Default random. */
  username?: string;
  /** The password for `htpasswd`/`token` auth. Default random. */
  password?: string;
  /**
   * Extra options for the token server (`auth: "token"`): more users, what
   * anonymous clients get, token lifetime, `keyHeader`. `service`, `issuer` and `tls` are set by the registry.
   */
  tokenServer?: Omit<TokenServerOptions, "service" | "issuer" | "tls">;
  /**
   * Registry configuration merged (deeply, objects only) over the generated
   * one, e.g. `{ compatibility: { schema1: { enabled: true } } }`,
   * `{ validation: { manifests: { urls: { allow: ["^https?://"] } } } }` or
   * `{ proxy: { remoteurl: "http://127.0.0.1:5000" } }`.
   */
  config?: Readonly<Record<string, unknown>>;
  /** How long to wait for the registry to answer, in milliseconds. Default 30000. */
  startTimeout?: number;
  /** Aborts the start (the process and files are cleaned up). */
  signal?: AbortSignal;
}

/** A running registry started by {@link startRegistry}. Stop it with `stop()` or `await using`. */
export interface RegistryHandle extends AsyncDisposable {
  /** The base URL: `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`. */
  readonly url: string;
  /** `127.0.0.1:PORT`, the registry host as an image reference names it. */
  readonly host: string;
  /** The TCP port it listens on. */
  readonly port: number;
  /** The registry process's id. */
  readonly pid: number;
  /** The temporary directory holding everything below; removed by `stop()`. */
  readonly dir: string;
  /** The filesystem storage driver's root directory. */
  readonly storageDir: string;
  /** The registry's configuration file. */
  readonly configPath: string;
  /** The file the registry's output (stdout and stderr) is written to. */
  readonly logFile: string;
  /** With `tls`: a containers-certs.d(5) directory holding `<host>/ca.crt` for `127.0.0.1:PORT` and `localhost:PORT`. */
  readonly certsDir?: string;
  /** With `tls`: the CA certificate (PEM) that signed the server certificate. */
  readonly caPem?: string;
  /** With `tls`: the path of the CA certificate file. */
  readonly caCertPath?: string;
  /** With `htpasswd` or `token` auth: a user allowed to pull, push and delete everything. */
  readonly username?: string;
  /** With `htpasswd` or `token` auth: that user's password. */
  readonly password?: string;
  /** With `token` auth: a user the token server grants only `pull`. */
  readonly readOnly?: { readonly username: string; readonly password: string };
  /** With `token` auth: the token server (its realm, recorded requests, users). */
  readonly tokenServer?: TokenServer;
  /** Everything the registry has printed so far (also after `stop()`). */
  logs(): string;
  /** Stops the process (SIGTERM, then SIGKILL), the token server, and removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

const SERVICE = "stevedore-test-registry";
const ISSUER = "stevedore-test-token-server";
const LISTENING = /listening on (?:\[[^\]]*\]|[^\s":]+):(\d+)/;

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function merge(base: Record<string, unknown>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isPlainObject(current) && isPlainObject(value) ? merge(current, value) : value;
  }
  return out;
}

function tail(text: string, lines = 25): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

/** A GET of `/v2/` that resolves with the status, or rejects on a connection error. */
function probe(url: string, ca: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const target = new URL("/v2/", url);
    const req = (target.protocol === "https:" ? httpsRequest : httpRequest)(
      target,
      { method: "GET", ...(ca ? { ca } : {}), agent: false },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", reject);
      },
    );
    req.setTimeout(5000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

let setprivPath: string | null | undefined;

/** util-linux's `setpriv` when it is installed (it is on every Debian system), else null. */
function findSetpriv(): string | null {
  if (setprivPath === undefined) {
    try {
      setprivPath = process.platform === "linux" ? requireTool("setpriv") : null;
    } catch {
      setprivPath = null;
    }
  }
  return setprivPath;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the real registry (Debian's `docker-registry`, Docker Distribution
 * 2.8) on 127.0.0.1 at a free port, with filesystem storage in a temporary
 * directory, manifest deletion enabled and its output captured. Resolves once
 * `/v2/` answers; rejects with the log tail if the process exits first. A
 * missing binary fails with the Debian package to install.
 *
 * @example
 * await using registry = await startRegistry({ auth: "htpasswd", tls: true });
 * // registry.url, registry.username/password, registry.caPem, registry.certsDir
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<RegistryHandle> {
  const binary = requireTool("docker-registry");
  const auth = options.auth ?? "none";
  if (auth !== "none" && auth !== "htpasswd" && auth !== "token") {
    throw new TypeError(`startRegistry: unknown auth "${String(auth)}" (want none, htpasswd or token)`);
  }
  if (auth === "htpasswd") requireTool("htpasswd");
  if (options.tls || auth === "token") requireTool("openssl");
  options.signal?.throwIfAborted();

  const dir = await mkdtemp(join(tmpdir(), "stevedore-registry-"));
  const storageDir = join(dir, "storage");
  const configPath = join(dir, "config.yml");
  const logFile = join(dir, "registry.log");
  let child: ChildProcess | undefined;
  let tokenServer: TokenServer | undefined;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  const unregister = onProcessExit({
    runSync() {
      if (alive() && child?.pid !== undefined) process.kill(child.pid, "SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  });

  const logChunks: string[] = [];
  let logFd: number | undefined;
  let exited: Promise<void> = Promise.resolve();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (child && alive()) {
        child.kill("SIGTERM");
        let grace: NodeJS.Timeout | undefined;
        const killed = await Promise.race([
          exited.then(() => true),
          new Promise<boolean>((resolve) => (grace = setTimeout(() => resolve(false), 5000))),
        ]);
        clearTimeout(grace);
        if (!killed && alive()) child.kill("SIGKILL");
      }
      await exited;
      if (logFd !== undefined) {
        closeSync(logFd);
        logFd = undefined;
      }
      await tokenServer?.stop();
      await rm(dir, { recursive: true, force: true });
      unregister();
    })();
    return stopping;
  };

  try {
    await mkdir(storageDir, { recursive: true });
    const username = options.username ?? `user-${randomBytes(4).toString("hex")}`;
    const password = options.password ?? randomBytes(12).toString("base64url");
    if (auth !== "none" && (username === "" || username.includes(":"))) {
      throw new TypeError(`startRegistry: invalid user name "${username}"`);
    }

    let tls: TestCertificates | undefined;
    if (options.tls) tls = await createTestCertificates(join(dir, "tls"));

    const config: Record<string, unknown> = {
      version: "0.1",
      log: { level: "info", formatter: "text", fields: { service: "registry" } },
      storage: {
        filesystem: { rootdirectory: storageDir },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: "127.0.0.1:0",
        secret: randomBytes(24).toString("hex"),
        headers: { "X-Content-Type-Options": ["nosniff"] },
        ...(tls ? { tls: { certificate: tls.certPath, key: tls.keyPath } } : {}),
      },
    };

    let readOnly: { username: string; password: string } | undefined;
    if (auth === "htpasswd") {
      const { stdout } = await runTool("htpasswd", ["-Bbn", username, password]);
      const htpasswdPath = join(dir, "htpasswd");
      await writeFile(htpasswdPath, `${stdout.trim()}\n`, { mode: 0o600 });
      config.auth = { htpasswd: { realm: "stevedore-test", path: htpasswdPath } };
    } else if (auth === "token") {
      readOnly = { username: `reader-${randomBytes(4).toString("hex")}`, password: randomBytes(12).toString("base64url") };
      const extra = options.tokenServer ?? {};
      tokenServer = await startTokenServer({
        ...extra,
        service: SERVICE,
        issuer: ISSUER,
        ...(tls ? { tls: { cert: tls.certPem, key: tls.keyPem } } : {}),
        users: {
          [username]: { password, access: FULL_ACCESS },
          [readOnly.username]: { password: readOnly.password, access: PULL_ONLY },
          ...extra.users,
        },
      });
      const bundle = join(dir, "token-signer.crt");
      await writeFile(bundle, tokenServer.signingCertPem);
      config.auth = {
        token: { realm: tokenServer.realm, service: SERVICE, issuer: ISSUER, rootcertbundle: bundle },
      };
    }

    const finalConfig = options.config ? merge(config, options.config) : config;
    // JSON is YAML: the registry reads this file with its YAML parser.
    await writeFile(configPath, `${JSON.stringify(finalConfig, null, 2)}\n`);
    options.signal?.throwIfAborted();

    logFd = openSync(logFile, "a");
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      // REGISTRY_* variables override the configuration file; keep the harness in control.
      if (!key.startsWith("REGISTRY_")) env[key] = value;
    }
    // With util-linux's setpriv the kernel kills the registry when the process
    // that started it dies, even by SIGKILL (a test worker killed mid-run).
    const setpriv = findSetpriv();
    const proc = setpriv
      ? spawn(setpriv, ["--pdeathsig", "SIGKILL", "--", binary, "serve", configPath], { stdio: ["ignore", "pipe", "pipe"], env, cwd: dir })
      : spawn(binary, ["serve", configPath], { stdio: ["ignore", "pipe", "pipe"], env, cwd: dir });
    child = proc;
    let onPort: ((port: number) => void) | undefined;
    let scan = "";
    const capture = (data: Buffer) => {
      const text = data.toString("utf8");
      logChunks.push(text);
      if (logFd !== undefined) writeSync(logFd, data);
      if (onPort) {
        scan = (scan + text).slice(-4096);
        const m = LISTENING.exec(scan);
        if (m) {
          onPort(Number(m[1]));
          onPort = undefined;
        }
      }
    };
    proc.stdout!.on("data", capture);
    proc.stderr!.on("data", capture);
    let spawnError: Error | undefined;
    exited = new Promise<void>((resolve) => {
      proc.once("exit", () => resolve());
      proc.once("error", (error) => {
        spawnError = error;
        resolve();
      });
    });

    const timeout = options.startTimeout ?? 30_000;
    const deadline = Date.now() + timeout;
    const failure = (why: string) =>
      new Error(`docker-registry ${why}; its output (${logFile}):\n${tail(logChunks.join(""))}`, spawnError ? { cause: spawnError } : undefined);
    let forgetAbort = () => {};
    const aborted = new Promise<never>((_, reject) => {
      const signal = options.signal;
      if (!signal) return;
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      signal.addEventListener("abort", onAbort, { once: true });
      forgetAbort = () => signal.removeEventListener("abort", onAbort);
    });
    aborted.catch(() => {});
    const early = exited.then(() => {
      const why = spawnError
        ? `could not be started (${spawnError.message})`
        : `exited before it was ready (code ${proc.exitCode}, signal ${proc.signalCode})`;
      throw failure(why);
    });
    early.catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(failure(`did not say where it listens within ${timeout} ms`)), timeout);
    });
    expired.catch(() => {});

    let port: number;
    try {
      port = await Promise.race([new Promise<number>((resolve) => (onPort = resolve)), early, aborted, expired]);
    } finally {
      clearTimeout(timer);
      forgetAbort();
    }
    const scheme = tls ? "https" : "http";
    const host = `127.0.0.1:${port}`;
    const url = `${scheme}://${host}`;

    // Wait until /v2/ answers (200 without auth, 401 with it).
    for (;;) {
      options.signal?.throwIfAborted();
      if (!alive()) await early;
      let status = 0;
      try {
        status = await probe(url, tls?.caPem);
      } catch (error) {
        if (Date.now() > deadline) throw failure(`did not answer ${url}/v2/ within ${timeout} ms (${String(error)})`);
      }
      if (status === 200 || status === 401) break;
      if (status !== 0) throw failure(`answered ${url}/v2/ with HTTP ${status}`);
      await delay(25);
    }

    let certsDir: string | undefined;
    if (tls) {
      certsDir = join(dir, "certs.d");
      await writeCertsDir(certsDir, host, tls.caPem);
      await writeCertsDir(certsDir, `localhost:${port}`, tls.caPem);
    }

    const handle: RegistryHandle = {
      url,
      host,
      port,
      pid: proc.pid!,
      dir,
      storageDir,
      configPath,
      logFile,
      ...(tls ? { certsDir, caPem: tls.caPem, caCertPath: tls.caCertPath } : {}),
      ...(auth !== "none" ? { username, password } : {}),
      ...(readOnly ? { readOnly } : {}),
      ...(tokenServer ? { tokenServer } : {}),
      logs: () => logChunks.join(""),
      stop,
      [Symbol.asyncDispose]: stop,
    };
    return handle;
  } catch (error) {
    await stop();
    throw error;
  }
}
