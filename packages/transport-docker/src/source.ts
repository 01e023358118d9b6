/**
 * The `docker` image source: manifests and blobs from a registry, through
 * registries.conf mirrors first.
 *
 * @module
 */
import { defaultAcceptMIMETypes, manifestDigest, matchesDigest } from "@stevedore/manifest";
import { domain as domainOf } from "@stevedore/reference";
import { pullSourcesFor, type PullSource } from "@stevedore/registries-conf";
import {
  AbortError,
  DigestMismatchError,
  parseDigest,
  ProtocolError,
  SizeLimits,
  SizeMismatchError,
  StevedoreError,
  verifyStream,
  type BlobInfo,
  type BlobInfoCache,
  type BlobResult,
  type Digest,
  type DockerReference,
  type ImageSource,
  type ImageSourceCapabilities,
  type IoOptions,
  type RawManifest,
  type Signature,
  type SystemContext,
} from "@stevedore/types";
import type { HttpResponse } from "./http/types.js";
import { readAttachmentSignatures } from "./internal/attachments.js";
import { resumableBody } from "./internal/body-reader.js";
import type { RegistryClient } from "./internal/client.js";
import { parseContentLength } from "./internal/headers.js";
import { readLimitedBody } from "./internal/limited-body.js";
import { readLookasideSignatures } from "./internal/lookaside.js";
import { openClient, registriesConfigFor } from "./internal/open.js";
import { redactURL } from "./internal/redact.js";
import { describe } from "./internal/util.js";
import type { DockerImageReference } from "./reference.js";
import { loadRegistriesDir, lookasideLocationFor, useSigstoreAttachmentsFor, type RegistriesDirConfig } from "./registries-d.js";

/** The transport name recorded in the blob-info cache. */
export const CACHE_TRANSPORT = "docker";

/** The MIME type of a Content-Type header, without parameters. */
export function simplifyContentType(value: string | undefined): string {
  if (value === undefined) return "";
  return (value.split(";")[0] ?? "").trim().toLowerCase();
}

/** Fetches a manifest by tag or digest with a client; verifies it against `expected` when given. */
export async function fetchManifest(
  client: RegistryClient,
  tagOrDigest: string,
  expected: Digest | undefined,
  what: string,
  signal: AbortSignal | undefined,
): Promise<RawManifest> {
  const res = await client.request({
    method: "GET",
    url: `/v2/${client.repository}/manifests/${tagOrDigest}`,
    headers: { accept: defaultAcceptMIMETypes.join(", ") },
    signal,
  });
  if (res.status !== 200) throw await client.fail(res, `reading manifest ${tagOrDigest}`, "manifest", signal);
  const bytes = await readLimitedBody(res, {
    limit: SizeLimits.manifest,
    what: `manifest ${tagOrDigest} of ${what} (${redactURL(res.url)})`,
    strictLength: true,
    signal,
  });
  if (expected !== undefined && !matchesDigest(bytes, expected)) {
    let actual: string;
    try {
      actual = manifestDigest(bytes);
    } catch {
      actual = "(not computable)";
    }
    throw new DigestMismatchError(`manifest of ${what} (from ${redactURL(res.url)})`, expected, actual);
  }
  return { bytes, mimeType: simplifyContentType(res.headers.get("content-type")) };
}

/** One failed pull source, for the message when all fail. */
interface Attempt {
  readonly source: PullSource;
  readonly error: unknown;
}

/** An image being read from a registry. */
export class DockerImageSource implements ImageSource {
  /** The reference the source was opened from (the logical one, not a mirror's). */
  readonly reference: DockerImageReference;
  /** Blobs may be read concurrently; ranged reads are not offered. */
  readonly capabilities: ImageSourceCapabilities = Object.freeze({ threadSafeGetBlob: true, getBlobAt: false });
  /** The reference actually read: the mirror's, when a mirror served the manifest. */
  readonly physicalReference: DockerReference;
  private readonly client: RegistryClient;
  private readonly ctx: SystemContext;
  private manifest: RawManifest | undefined;

  /** @internal use `reference.newImageSource()`. */
  constructor(reference: DockerImageReference, physical: DockerReference, client: RegistryClient, ctx: SystemContext, manifest: RawManifest) {
    this.reference = reference;
    this.physicalReference = physical;
    this.client = client;
    this.ctx = ctx;
    this.manifest = manifest;
  }

  private get what(): string {
    return `docker://${this.physicalReference.toString()}`;
  }

  /**
   * The top-level manifest (read when the source was opened), or the
   * instance `instanceDigest`; the bytes always match the digest asked
   * for (the reference's, or the instance's).
   */
  async getManifest(instanceDigest?: Digest, options: IoOptions = {}): Promise<RawManifest> {
    if (instanceDigest !== undefined) {
      const d = parseDigest(instanceDigest);
      return fetchManifest(this.client, d, d, this.what, options.signal);
    }
    this.manifest ??= await fetchManifest(this.client, tagOrDigestOf(this.physicalReference), this.physicalReference.digest, this.what, options.signal);
    return { bytes: this.manifest.bytes, mimeType: this.manifest.mimeType };
  }

  /**
   * A blob's body, verified against `info.digest` (and `info.size` when
   * known) while it is read: foreign `urls` first (without credentials),
   * then the registry; a broken connection is resumed with a Range request.
   * The location is recorded in `cache`.
   */
  async getBlob(info: BlobInfo, cache: BlobInfoCache, options: IoOptions = {}): Promise<BlobResult> {
    const digest = parseDigest(info.digest);
    const signal = options.signal;
    const failures: string[] = [];
    for (const u of info.urls ?? []) {
      let url: URL;
      try {
        url = new URL(u);
      } catch {
        continue;
      }
      if (url.protocol !== "https:" && url.protocol !== "http:") continue;
      try {
        const res = await this.client.request({ method: "GET", url, auth: false, signal });
        if (res.status !== 200) {
          failures.push(`${redactURL(url)}: HTTP ${res.status}`);
          await res.discard();
          continue;
        }
        return this.blobResult(res, info, digest, signal, async (offset) => this.client.request({ method: "GET", url, auth: false, signal, headers: rangeHeader(offset) }));
      } catch (e) {
        if (signal?.aborted || e instanceof AbortError) throw e;
        failures.push(`${redactURL(url)}: ${describe(e)}`);
      }
    }
    const path = `/v2/${this.client.repository}/blobs/${digest}`;
    const res = await this.client.request({ method: "GET", url: path, signal });
    if (res.status !== 200) {
      const err = await this.client.fail(res, `reading blob ${digest}`, "blob", signal);
      if (failures.length > 0) err.message += ` (its foreign URLs failed too: ${failures.join("; ")})`;
      throw err;
    }
    const result = this.blobResult(res, info, digest, signal, (offset) => this.client.request({ method: "GET", url: path, signal, headers: rangeHeader(offset) }));
    try {
      cache.recordKnownLocation(CACHE_TRANSPORT, domainOf(this.physicalReference), digest, this.physicalReference.name);
    } catch {
      // the cache is advisory
    }
    return result;
  }

  private blobResult(
    res: HttpResponse,
    info: BlobInfo,
    digest: Digest,
    signal: AbortSignal | undefined,
    reopen: (offset: number) => Promise<HttpResponse>,
  ): BlobResult {
    let length: number | undefined;
    try {
      length = parseContentLength(res.headers.get("content-length"));
    } catch (e) {
      void res.discard();
      throw new ProtocolError(`reading blob ${digest} of ${this.what} (${redactURL(res.url)}): ${describe(e)}`);
    }
    const what = `blob ${digest} of ${this.what}`;
    if (info.size >= 0 && length !== undefined && length !== info.size) {
      void res.discard();
      throw new SizeMismatchError(`${what} (Content-Length)`, info.size, length);
    }
    const size = info.size >= 0 ? info.size : (length ?? -1);
    const client = this.client;
    const body = resumableBody({
      first: res,
      totalSize: size >= 0 ? size : undefined,
      reopen,
      fail: (r) => client.fail(r, `resuming blob ${digest}`, "blob"),
      delayMs: this.ctx.retryDelayMs ?? 1000,
      signal,
      what,
    });
    return { stream: verifyStream(body, { digest, size }, { what }), size };
  }

  /**
   * The signatures of the image (or of the instance `instanceDigest`), as
   * registries.d configures them for the reference actually read (a
   * mirror's, when a mirror served the manifest): first the lookaside's
   * `signature-1`, `signature-2`, … up to the first missing one (at most
   * 128, each at most 4 MiB; http(s) lookasides are read without the
   * registry's credentials; an HTML page counts as "no more signatures"),
   * then, with `use-sigstore-attachments: true`, one `sigstore-json`
   * signature per layer of the `sha256-<hex>.sig` attachment manifest
   * (each layer at most 4 MiB, verified against its digest). The
   * registries.d configuration is read on the first call.
   */
  async getSignatures(instanceDigest?: Digest, options: IoOptions = {}): Promise<Signature[]> {
    const signal = options.signal;
    const digest = instanceDigest !== undefined ? parseDigest(instanceDigest) : await this.manifestDigest(signal);
    this.registriesDir ??= loadRegistriesDir(this.ctx, signal ? { signal } : {});
    const p = this.registriesDir;
    p.catch(() => {
      if (this.registriesDir === p) this.registriesDir = undefined;
    });
    const config = await p;
    const location = lookasideLocationFor(config, this.physicalReference, { write: false, ctx: this.ctx });
    const out: Signature[] = await readLookasideSignatures(location, digest, this.client, signal);
    if (useSigstoreAttachmentsFor(config, this.physicalReference)) {
      out.push(...(await readAttachmentSignatures(this.client, digest, SizeLimits.signature, this.what, signal)));
    }
    return out;
  }

  private registriesDir: Promise<RegistriesDirConfig> | undefined;

  /** The digest of the top-level manifest: the reference's sha256 digest, else computed from the bytes. */
  private async manifestDigest(signal: AbortSignal | undefined): Promise<Digest> {
    const d = this.physicalReference.digest;
    if (d !== undefined && d.startsWith("sha256:")) return parseDigest(d);
    const m = await this.getManifest(undefined, signal ? { signal } : {});
    return manifestDigest(m.bytes);
  }

  /** The manifest's layer infos are used as they are. */
  async layerInfosForCopy(_instanceDigest?: Digest, _options?: IoOptions): Promise<BlobInfo[] | undefined> {
    return undefined;
  }

  /** Nothing to release: connections are pooled per process. */
  async close(): Promise<void> {}
}

function rangeHeader(offset: number): Record<string, string> {
  return offset > 0 ? { range: `bytes=${offset}-` } : {};
}

/** The tag, else the digest, of a reference. */
export function tagOrDigestOf(ref: DockerReference): string {
  return ref.digest ?? ref.tag ?? "latest";
}

/**
 * Opens a source: each registries.conf pull source in order (mirrors, then
 * the registry), keeping the first whose manifest could be read. When all
 * fail, the error has the class of the last (the registry's own) failure
 * and lists every attempt.
 */
export async function openSource(ref: DockerImageReference, ctx: SystemContext, options: IoOptions): Promise<DockerImageSource> {
  const signal = options.signal;
  const config = await registriesConfigFor(ctx, signal);
  const sources = pullSourcesFor(config, ref.ref);
  const attempts: Attempt[] = [];
  for (const source of sources) {
    try {
      const client = await openClient({
        ctx,
        options: ref.options,
        ref: source.reference,
        actions: "pull",
        registriesConfig: config,
        endpointInsecure: source.endpoint.insecure,
        logicalDomain: ref.domain,
        checkBlocked: false,
        signal,
      });
      const what = `docker://${source.reference.toString()}`;
      const manifest = await fetchManifest(client, tagOrDigestOf(source.reference), source.reference.digest, what, signal);
      return new DockerImageSource(ref, source.reference, client, ctx, manifest);
    } catch (e) {
      if (signal?.aborted || e instanceof AbortError) throw e;
      attempts.push({ source, error: e });
    }
  }
  const last = attempts[attempts.length - 1]!;
  if (attempts.length === 1) throw last.error;
  const lines = attempts.map((a) => `${a.source.mirror ? "mirror" : "registry"} ${a.source.reference.toString()}: ${describe(a.error)}`);
  const message = `reading ${ref.toString()} failed from every source: ${lines.join("; ")}`;
  if (last.error instanceof StevedoreError) {
    const cls = last.error.constructor as new (m: string, o?: { cause?: unknown }) => StevedoreError;
    let err: StevedoreError;
    try {
      err = new cls(message, { cause: last.error });
    } catch {
      err = new ProtocolError(message, { cause: last.error });
    }
    if (err.message !== message) err = new ProtocolError(message, { cause: last.error });
    throw err;
  }
  throw new ProtocolError(message, { cause: last.error });
}
