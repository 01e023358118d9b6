import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import type { SystemContext } from "@stevedore/types";

/**
 * The directory for big temporary files: `ctx.bigFilesTemporaryDir`, else
 * `$TMPDIR`, else `/var/tmp` (as containers/image: /tmp is often a small
 * tmpfs), else the OS temporary directory.
 */
export async function bigFilesTemporaryDir(ctx: SystemContext): Promise<string> {
  if (ctx.bigFilesTemporaryDir) return ctx.bigFilesTemporaryDir;
  const env = ctx.env ?? process.env;
  if (env["TMPDIR"]) return env["TMPDIR"];
  const st = await stat("/var/tmp").catch(() => undefined);
  return st?.isDirectory() ? "/var/tmp" : tmpdir();
}
