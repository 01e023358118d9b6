/**
 * Registry error responses → Stevedore's typed errors.
 *
 * @module
 */
import {
  BlobUnknownError,
  DeniedError,
  fromUtf8,
  InvalidManifestError,
  ManifestTypeRejectedError,
  ManifestUnknownError,
  NameUnknownError,
  ProtocolError,
  SizeLimitExceededError,
  SizeLimits,
  StevedoreError,
  TooManyRequestsError,
  UnauthorizedError,
  UnsupportedError,
} from "@stevedore/types";
import type { HttpResponse } from "../http/types.js";
import { readLimitedBody } from "./limited-body.js";
import { redactURL } from "./redact.js";

/** One entry of a distribution error body (`{"errors":[{code,message,detail}]}`). */
export interface RegistryErrorEntry {
  readonly code: string;
  readonly message: string;
  readonly detail?: unknown;
}

/** What a failed request was about, for the error's class and message. */
export interface ErrorContext {
  /** What was being done, e.g. `reading manifest latest`. */
  readonly operation: string;
  /** The registry host (`host[:port]`). */
  readonly registry: string;
  /** The repository path, when the request was about one. */
  readonly repository?: string;
  /** What a 404 means: a missing manifest, blob, or repository. */
  readonly kind?: "manifest" | "blob" | "repository" | "other";
  /** Extra explanation appended to the message (e.g. why credentials were withheld). */
  readonly note?: string;
}

/** A parsed error response. */
export interface ParsedErrorBody {
  readonly entries: readonly RegistryErrorEntry[];
  /** The body as text (truncated), when it was not a distribution error document. */
  readonly text: string;
}

function clean(s: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const t = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "?").replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max)}…` : t;
}

/**
 * Reads an error response's body (at most 1 MiB, else
 * `SizeLimitExceededError`) and parses the distribution error document, or
 * the OAuth2 `{error, error_description}` form, or keeps the text.
 */
export async function readErrorBody(res: HttpResponse, signal?: AbortSignal): Promise<ParsedErrorBody> {
  const bytes = await readLimitedBody(res, { limit: SizeLimits.errorBody, what: `the error response of ${redactURL(res.url)} (HTTP ${res.status})`, signal });
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    return { entries: [], text: `(${bytes.byteLength} bytes of binary data)` };
  }
  try {
    const doc = JSON.parse(text) as unknown;
    if (doc && typeof doc === "object") {
      const errors = (doc as { errors?: unknown }).errors;
      if (Array.isArray(errors)) {
        const entries: RegistryErrorEntry[] = [];
        for (const e of errors) {
          if (!e || typeof e !== "object") continue;
          const code = (e as { code?: unknown }).code;
          const message = (e as { message?: unknown }).message;
          const detail = (e as { detail?: unknown }).detail;
          entries.push({
            code: typeof code === "string" ? code.toUpperCase() : "UNKNOWN",
            message: typeof message === "string" ? message : "",
            ...(detail !== undefined ? { detail } : {}),
          });
        }
        if (entries.length > 0) return { entries, text: "" };
      }
      const oauth = (doc as { error?: unknown }).error;
      if (typeof oauth === "string") {
        const desc = (doc as { error_description?: unknown }).error_description;
        return { entries: [{ code: oauth.toUpperCase(), message: typeof desc === "string" ? desc : "" }], text: "" };
      }
      const details = (doc as { details?: unknown }).details;
      if (typeof details === "string") return { entries: [], text: clean(details) };
    }
  } catch {
    // not JSON
  }
  return { entries: [], text: clean(text) };
}

function describeEntries(entries: readonly RegistryErrorEntry[]): string {
  return entries
    .map((e) => {
      let s = e.message ? `${e.code}: ${clean(e.message)}` : e.code;
      if (e.detail !== undefined && e.detail !== null) {
        let d: string;
        try {
          d = typeof e.detail === "string" ? e.detail : JSON.stringify(e.detail);
        } catch {
          d = String(e.detail);
        }
        if (d && d !== "{}" && d !== "null") s += ` (${clean(d, 200)})`;
      }
      return s;
    })
    .join("; ");
}

type ErrorClass = new (message: string, options?: { cause?: unknown }) => StevedoreError;

const CODE_CLASSES: Readonly<Record<string, ErrorClass>> = {
  UNAUTHORIZED: UnauthorizedError,
  DENIED: DeniedError,
  NAME_UNKNOWN: NameUnknownError,
  MANIFEST_UNKNOWN: ManifestUnknownError,
  BLOB_UNKNOWN: BlobUnknownError,
  BLOB_UPLOAD_UNKNOWN: BlobUnknownError,
  TOOMANYREQUESTS: TooManyRequestsError,
  MANIFEST_INVALID: InvalidManifestError,
  MANIFEST_BLOB_UNKNOWN: BlobUnknownError,
  UNSUPPORTED: UnsupportedError,
};

/** The message prefix naming the operation, registry, repository and redacted URL. */
export function where(res: { url: URL; status?: number }, ctx: ErrorContext): string {
  const repo = ctx.repository !== undefined ? `, repository ${ctx.repository}` : "";
  const status = res.status !== undefined ? `: HTTP ${res.status}` : "";
  return `${ctx.operation} (registry ${ctx.registry}${repo}, ${redactURL(res.url)})${status}`;
}

/** The typed error for a parsed error response. */
export function errorFromParsed(res: HttpResponse, body: ParsedErrorBody, ctx: ErrorContext): StevedoreError {
  let cls: ErrorClass | undefined;
  for (const e of body.entries) {
    cls = CODE_CLASSES[e.code];
    if (cls) break;
  }
  if (cls === undefined || cls === UnsupportedError) {
    switch (res.status) {
      case 401:
        cls = UnauthorizedError;
        break;
      case 403:
        cls = DeniedError;
        break;
      case 404:
        cls = ctx.kind === "manifest" ? ManifestUnknownError : ctx.kind === "blob" ? BlobUnknownError : ctx.kind === "repository" ? NameUnknownError : ProtocolError;
        break;
      case 429:
        cls = TooManyRequestsError;
        break;
      default:
        cls ??= ProtocolError;
    }
  }
  const detail = body.entries.length > 0 ? describeEntries(body.entries) : body.text;
  let hint = "";
  if (cls === UnauthorizedError) hint = "; check the credentials (auth.json, --creds) for this registry";
  else if (cls === TooManyRequestsError) hint = "; the registry's rate limit was reached, try again later";
  const note = ctx.note ? `; ${ctx.note}` : "";
  return new cls(`${where(res, ctx)}${detail ? `: ${detail}` : ""}${hint}${note}`);
}

/** Reads an error response and returns the typed error for it (size-limit failures are returned, too). */
export async function errorFromResponse(res: HttpResponse, ctx: ErrorContext, signal?: AbortSignal): Promise<StevedoreError> {
  let body: ParsedErrorBody;
  try {
    body = await readErrorBody(res, signal);
  } catch (e) {
    if (e instanceof StevedoreError) {
      if (e instanceof SizeLimitExceededError) return new SizeLimitExceededError(`${where(res, ctx)}: ${e.message}`, { cause: e });
      return e;
    }
    return new ProtocolError(`${where(res, ctx)}: reading the error response failed: ${String(e)}`, { cause: e });
  }
  return errorFromParsed(res, body, ctx);
}

/**
 * Whether a failed manifest PUT means "this registry does not take this
 * manifest type", so the copy engine may try another: MANIFEST_INVALID
 * (OpenShift, schema 1 refused by Distribution), TAG_INVALID
 * (Distribution), UNSUPPORTED or a 400 saying "Invalid JSON syntax" (ECR),
 * HTTP 415, or a message about an unsupported media type / manifest type.
 */
export function isManifestTypeRejection(status: number, body: ParsedErrorBody): boolean {
  if (status === 415) return true;
  for (const e of body.entries) {
    if (e.code === "MANIFEST_INVALID" || e.code === "TAG_INVALID") return true;
    if (/invalid json syntax/i.test(e.message)) return true;
    if (/unsupported (manifest )?media ?type|manifest type .*not supported|not supported.*media ?type/i.test(e.message)) return true;
  }
  if (status === 400 && /invalid json syntax|unsupported (manifest )?media ?type/i.test(body.text)) return true;
  return false;
}

/** {@link ManifestTypeRejectedError} for a manifest PUT the registry refused. */
export function manifestRejected(res: HttpResponse, body: ParsedErrorBody, ctx: ErrorContext, mimeType: string): ManifestTypeRejectedError {
  const detail = body.entries.length > 0 ? describeEntries(body.entries) : body.text;
  return new ManifestTypeRejectedError(
    `${where(res, ctx)}: the registry refused the manifest of type ${mimeType || "(unknown)"}${detail ? `: ${detail}` : ""}`,
  );
}
