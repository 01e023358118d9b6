import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { AbortError, MissingToolError, SizeLimitExceededError, StevedoreError, throwIfAborted } from "@stevedore/types";

/** A gpg invocation failed in a way that is not a verdict on a signature (the binary crashed, the home is unusable, ...). */
export class GpgError extends StevedoreError {
  static override readonly code: string = "ERR_GPG";
}

/** One `[GNUPG:] KEYWORD args...` status line. */
export interface StatusLine {
  keyword: string;
  args: string[];
}

/** What a finished gpg run produced. */
export interface GpgResult {
  exitCode: number | null;
  stdout: Uint8Array;
  stderr: string;
  status: StatusLine[];
}

/** Options of {@link runGpg}. */
export interface RunGpgOptions {
  /** The gpg binary; default `gpg` on PATH. */
  gpgPath?: string;
  /** `--homedir`; default: gpg's own choice (GNUPGHOME or ~/.gnupg). */
  homeDir?: string;
  /** Bytes written to gpg's stdin. */
  input?: Uint8Array;
  /** Written, followed by a newline, to fd 4 (for `--passphrase-fd 4`). */
  passphrase?: string;
  /** The most stdout may hold; more fails the run. */
  stdoutLimit?: number;
  signal?: AbortSignal;
}

const STDERR_LIMIT = 64 * 1024;

/** Parses status-fd output (decoded as Latin-1: gpg percent-escapes, but notation data may carry any byte). */
export function parseStatus(text: string): StatusLine[] {
  const out: StatusLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("[GNUPG:] ")) continue;
    const [keyword = "", ...args] = line.slice(9).replace(/\r$/, "").split(" ");
    out.push({ keyword, args });
  }
  return out;
}

function writeAndEnd(stream: Writable | null | undefined, data: Uint8Array | string | undefined): void {
  if (!stream) return;
  // gpg may close a pipe it does not need (e.g. the passphrase of an unprotected key): ignore EPIPE.
  stream.on("error", () => {});
  if (data !== undefined && data.length > 0) stream.end(data);
  else stream.end();
}

/**
 * Runs gpg with `args` (no shell) plus `--batch --no-tty --status-fd 3`,
 * collecting stdout, stderr and the status lines. The `gpg` binary missing
 * throws MissingToolError naming the Debian package `gnupg`. Aborting the
 * signal kills gpg and throws AbortError.
 */
export function runGpg(args: readonly string[], options: RunGpgOptions = {}): Promise<GpgResult> {
  throwIfAborted(options.signal);
  const gpg = options.gpgPath ?? "gpg";
  const full = ["--batch", "--no-tty", "--status-fd", "3"];
  if (options.homeDir !== undefined) full.push("--homedir", options.homeDir);
  if (options.passphrase !== undefined) full.push("--pinentry-mode", "loopback", "--passphrase-fd", "4");
  full.push(...args);
  const limit = options.stdoutLimit ?? Number.MAX_SAFE_INTEGER;

  return new Promise<GpgResult>((resolve, reject) => {
    let settled = false;
    const fail = (e: unknown) => {
      if (settled) return;
      settled = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
      reject(e);
    };
    const child = spawn(gpg, full, {
      stdio: ["pipe", "pipe", "pipe", "pipe", "pipe"],
      env: { ...process.env, LC_ALL: "C", LANGUAGE: "C" },
      windowsHide: true,
    });
    const onAbort = () => fail(new AbortError("gpg was cancelled", { cause: options.signal?.reason }));
    options.signal?.addEventListener("abort", onAbort, { once: true });

    const stdout: Buffer[] = [];
    let stdoutSize = 0;
    let stderr = "";
    let status = "";
    child.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") {
        fail(
          new MissingToolError(
            `the gpg signature mechanism needs the "${gpg}" program, which was not found: install the Debian package "gnupg" (or pass gpgPath)`,
            { cause: e },
          ),
        );
      } else {
        fail(new GpgError(`cannot run ${gpg}: ${e.message}`, { cause: e }));
      }
    });
    child.stdout?.on("data", (c: Buffer) => {
      stdoutSize += c.length;
      if (stdoutSize > limit) {
        fail(new SizeLimitExceededError(`gpg output is larger than the limit of ${limit} bytes`));
        return;
      }
      stdout.push(c);
    });
    child.stderr?.on("data", (c: Buffer) => {
      if (stderr.length < STDERR_LIMIT) stderr += c.toString("utf8");
    });
    const statusStream = child.stdio[3];
    statusStream?.on("data", (c: Buffer) => {
      status += c.toString("latin1");
    });
    writeAndEnd(child.stdin, options.input);
    writeAndEnd(child.stdio[4] as Writable | null, options.passphrase === undefined ? undefined : options.passphrase + "\n");

    child.on("close", (exitCode) => {
      options.signal?.removeEventListener("abort", onAbort);
      if (settled) return;
      settled = true;
      resolve({ exitCode, stdout: new Uint8Array(Buffer.concat(stdout)), stderr: stderr.trim(), status: parseStatus(status) });
    });
  });
}

/** The gpg-error code (the low 16 bits) of an error number in a status line. */
export function gpgErrorCode(n: string | undefined): number {
  const v = Number(n);
  return Number.isFinite(v) ? v & 0xffff : -1;
}
