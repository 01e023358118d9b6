import { execFile } from "node:child_process";
import { requireTool } from "../tools.js";

/** What a finished command printed. */
export interface RunResult {
  stdout: string;
  stderr: string;
}

/**
 * Runs system tool `tool` (resolved with {@link requireTool}, so a missing
 * tool fails naming its Debian package) and resolves with its output; a
 * non-zero exit rejects with an error that quotes the command's stderr.
 */
export function runTool(tool: string, args: readonly string[], options: { cwd?: string } = {}): Promise<RunResult> {
  const bin = requireTool(tool);
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: options.cwd, encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${tool} ${args[0] ?? ""} failed: ${stderr.trim() || error.message}`, { cause: error }));
        return;
      }
      resolve({ stdout, stderr });
    });
  });
}
