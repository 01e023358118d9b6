import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireTool } from "@stevedore/testing";
import { SIGSTORE_PAYLOAD_MIME_TYPE, SIGSTORE_SIGNATURE_ANNOTATION } from "@stevedore/signature-sigstore";
import type { SigstoreSignature } from "@stevedore/types";

/** A fresh temporary directory; remove it with the returned function. */
export async function tempDir(): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "stevedore-sigstore-test-"));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs a system tool; a missing tool fails with the Debian package to install. */
export function run(tool: string, args: readonly string[], options: { input?: Uint8Array } = {}): Promise<{ stdout: string; stderr: string }> {
  const bin = requireTool(tool);
  return new Promise((resolve, reject) => {
    const child = execFile(bin, args, { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${tool} ${args.join(" ")} failed: ${stdout}${stderr || err.message}`, { cause: err }));
      else resolve({ stdout, stderr });
    });
    if (options.input) child.stdin?.end(options.input);
  });
}

/** Bytes of text. */
export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** Text of bytes. */
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Standard base64 of bytes. */
export const b64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

/** Bytes of standard base64. */
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, "base64"));

/** A sigstore signature object from its parts. */
export function sigstoreSignature(payload: Uint8Array | string, signatureBase64: string | undefined, mimeType = SIGSTORE_PAYLOAD_MIME_TYPE): SigstoreSignature {
  return {
    format: "sigstore-json",
    untrustedMIMEType: mimeType,
    untrustedPayload: typeof payload === "string" ? bytes(payload) : payload,
    untrustedAnnotations: signatureBase64 === undefined ? {} : { [SIGSTORE_SIGNATURE_ANNOTATION]: signatureBase64 },
  };
}

/** A copy of `s` with other annotations. */
export function withAnnotations(s: SigstoreSignature, annotations: Record<string, string>): SigstoreSignature {
  return { ...s, untrustedAnnotations: annotations };
}
