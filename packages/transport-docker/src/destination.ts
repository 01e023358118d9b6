/**
 * The `docker` image destination: blob uploads (monolithic or chunked),
 * reuse by existence check and cross-repository mount, manifest PUT.
 *
 * @module
 */
import {
  DOCKER_LIST_MEDIA_TYPE,
  DOCKER_SCHEMA1_MEDIA_TYPE,
  DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE,
  DOCKER_SCHEMA2_MEDIA_TYPE,
  guessMIMEType,
  manifestDigest,
  matchesDigest,
  OCI_CONFIG_MEDIA_TYPE,
  OCI_INDEX_MEDIA_TYPE,
  OCI_MANIFEST_MEDIA_TYPE,
} from "@stevedore/manifest";
import { domain as domainOf, parseNormalizedNamed, path as pathOf } from "@stevedore/reference";
import {
  AbortError,
  DigestMismatchError,
  digestOf,
  encodeSignatureBlob,
  fromUtf8,
  InvalidManifestError,
  isDigest,
  ManifestUnknownError,
  measureStream,
  parseDigest,
  ProtocolError,
  SizeLimitExceededError,
  SizeLimits,
  SizeMismatchError,
  streamOf,
  throwIfAborted,
  UnsupportedError,
  utf8,
  verifyStream,
  type BlobInfo,
  type BlobStream,
  type CommitOptions,
  type CompressionAlgorithmName,
  type CompressionOperation,
  type Digest,
  type ImageDestination,
  type ImageDestinationCapabilities,
  type IoOptions,
  type PutBlobOptions,
  type ReusedBlob,
  type Signature,
  type SigstoreSignature,
  type StoredBlob,
  type SystemContext,
  type TryReusingBlobOptions,
} from "@stevedore/types";
import type { HttpResponse } from "./http/types.js";
import { readAttachmentManifest, readDescriptorContents, sameAnnotations, type AttachmentDescriptor } from "./internal/attachments.js";
import type { RegistryClient } from "./internal/client.js";
import { isManifestTypeRejection, manifestRejected, readErrorBody, errorFromParsed } from "./internal/errors.js";
import { parseContentLength, type AuthScope } from "./internal/headers.js";
import { assertWritableLookaside, writeLookasideSignatures } from "./internal/lookaside.js";
import { openClient } from "./internal/open.js";
import { redactURL } from "./internal/redact.js";
import { describe } from "./internal/util.js";
import type { DockerImageReference } from "./reference.js";
import { loadRegistriesDir, lookasideLocationFor, sigstoreAttachmentTag, useSigstoreAttachmentsFor, type LookasideLocation, type RegistriesDirConfig } from "./registries-d.js";
import { CACHE_TRANSPORT } from "./source.js";

/** The compression algorithms a cache compressor name may mean. */
const ALGORITHMS: ReadonlySet<string> = new Set(["gzip", "zstd", "zstd:chunked", "bzip2", "xz"]);

function operationFor(compressorName: string): { op: CompressionOperation; algorithm?: CompressionAlgorithmName } | undefined {
  if (compressorName === "uncompressed") return { op: "decompress" };
  if (compressorName === "unknown" || compressorName === "") return { op: "preserve" };
  if (ALGORITHMS.has(compressorName)) return { op: "compress", algorithm: compressorName as CompressionAlgorithmName };
  return undefined;
}

/** An image being written to a registry. */
export class DockerImageDestination implements ImageDestination {
  /** The reference the destination was opened for. */
  readonly reference: DockerImageReference;
  /** What the registry accepts and wants. */
  readonly capabilities: ImageDestinationCapabilities;
  private readonly client: RegistryClient;
  private readonly ctx: SystemContext;
  private readonly registriesDir: RegistriesDirConfig;
  /** Digests of the manifests stored by {@link putManifest}. */
  private readonly storedManifests = new Set<Digest>();
  /** The digest of the top-level manifest stored by {@link putManifest}. */
  private topLevelDigest: Digest | undefined;
  /** Signatures waiting for {@link commit}, by manifest digest. */
  private readonly pendingSignatures = new Map<Digest, PendingSignatures>();

  /** @internal use `reference.newImageDestination()`. */
  constructor(reference: DockerImageReference, client: RegistryClient, ctx: SystemContext, registriesDir: RegistriesDirConfig) {
    this.reference = reference;
    this.client = client;
    this.ctx = ctx;
    this.registriesDir = registriesDir;
    const types = [OCI_MANIFEST_MEDIA_TYPE, DOCKER_SCHEMA2_MEDIA_TYPE, OCI_INDEX_MEDIA_TYPE, DOCKER_LIST_MEDIA_TYPE];
    if (!ctx.dockerDisableDestSchema1MIMETypes) types.push(DOCKER_SCHEMA1_SIGNED_MEDIA_TYPE, DOCKER_SCHEMA1_MEDIA_TYPE);
    this.capabilities = Object.freeze({
      supportedManifestMIMETypes: Object.freeze(types),
      desiredLayerCompression: "compress",
      supportsSignatures: true,
      acceptsForeignLayerURLs: true,
      mustMatchRuntimeOS: false,
      ignoresEmbeddedDockerReference: false,
      threadSafePutBlob: true,
    });
  }

  private get what(): string {
    return this.reference.toString();
  }

  private get repo(): string {
    return this.reference.repository;
  }

  private recordLocation(cache: { recordKnownLocation(t: string, s: string, d: Digest, l: string): void }, digest: Digest): void {
    try {
      cache.recordKnownLocation(CACHE_TRANSPORT, this.reference.domain, digest, this.reference.ref.name);
    } catch {
      // the cache is advisory
    }
  }

  /**
   * Uploads a blob: `POST` an upload session, then one `PUT` with the whole
   * stream (or, with `ctx.dockerRegistryChunkSize`, `PATCH` chunks and a
   * final `PUT`). The digest and size are verified while streaming; an
   * unknown digest is computed on the way and used for the final `PUT`. On
   * any failure the upload session is deleted and nothing of the blob
   * becomes visible.
   */
  async putBlob(stream: BlobStream, info: BlobInfo, options: PutBlobOptions): Promise<StoredBlob> {
    const signal = options.signal;
    throwIfAborted(signal);
    const expected = info.digest !== undefined ? parseDigest(info.digest) : undefined;
    const what = `blob ${expected ?? "(digest unknown)"} for ${this.what}`;
    let streamError: unknown;
    let counted = 0;
    const capture = (s: BlobStream): BlobStream =>
      (async function* () {
        try {
          for await (const c of s) {
            counted += c.byteLength;
            yield c;
          }
        } catch (e) {
          streamError ??= e;
          throw e;
        }
      })();
    const onBytes = options.onProgress;
    let body: BlobStream;
    let measured: Promise<{ digest: Digest; size: number }> | undefined;
    if (expected !== undefined) {
      body = capture(verifyStream(stream, { digest: expected, size: info.size }, { what, ...(onBytes ? { onBytes } : {}), ...(signal ? { signal } : {}) }));
    } else {
      const m = measureStream(limitSize(stream, info.size, what), "sha256", { what, ...(onBytes ? { onBytes } : {}), ...(signal ? { signal } : {}) });
      body = capture(m.stream);
      measured = m.result;
    }

    let location = await this.startUpload(signal);
    try {
      const chunkSize = this.ctx.dockerRegistryChunkSize ?? 0;
      let digest: Digest;
      if (chunkSize > 0) {
        location = await this.uploadChunks(location, body, chunkSize, signal);
        digest = expected ?? (await measured!).digest;
        await this.completeUpload(location, digest, undefined, -1, signal);
      } else if (expected !== undefined) {
        await this.completeUpload(location, expected, body, info.size, signal);
        digest = expected;
      } else {
        location = await this.patch(location, body, signal);
        digest = (await measured!).digest;
        await this.completeUpload(location, digest, undefined, -1, signal);
      }
      this.recordLocation(options.cache, digest);
      return { digest, size: counted };
    } catch (e) {
      await this.cancelUpload(location);
      if (streamError !== undefined) throw streamError;
      throw e;
    }
  }

  /** `POST /blobs/uploads/`: the session's Location. */
  private async startUpload(signal: AbortSignal | undefined): Promise<URL> {
    const res = await this.client.request({ method: "POST", url: `/v2/${this.repo}/blobs/uploads/`, retryable: true, signal });
    if (res.status !== 202) throw await this.client.fail(res, "starting a blob upload", "repository", signal);
    const loc = this.location(res);
    await res.discard();
    return loc;
  }

  private location(res: HttpResponse): URL {
    const loc = res.headers.get("location");
    if (loc === undefined || loc === "") throw new ProtocolError(`${redactURL(res.url)}: the registry answered ${res.status} without a Location header`);
    try {
      return new URL(loc, res.url);
    } catch {
      throw new ProtocolError(`${redactURL(res.url)}: the registry answered an invalid upload Location`);
    }
  }

  /** One `PATCH` with the whole stream; returns the next Location. */
  private async patch(location: URL, body: BlobStream, signal: AbortSignal | undefined): Promise<URL> {
    const res = await this.client.request({
      method: "PATCH",
      url: location,
      headers: { "content-type": "application/octet-stream" },
      body,
      retryable: false,
      signal,
    });
    if (res.status !== 202) throw await this.client.fail(res, "uploading blob data", "other", signal);
    const next = res.headers.get("location") ? this.location(res) : location;
    await res.discard();
    return next;
  }

  /** `PATCH` chunks of exactly `chunkSize` bytes (the last may be shorter); returns the next Location. */
  private async uploadChunks(location: URL, body: BlobStream, chunkSize: number, signal: AbortSignal | undefined): Promise<URL> {
    if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new TypeError(`dockerRegistryChunkSize must be a positive integer, got ${String(chunkSize)}`);
    let offset = 0;
    for await (const chunk of chunked(body, chunkSize)) {
      const res = await this.client.request({
        method: "PATCH",
        url: location,
        headers: {
          "content-type": "application/octet-stream",
          "content-length": String(chunk.byteLength),
          "content-range": `${offset}-${offset + chunk.byteLength - 1}`,
        },
        body: chunk,
        retryable: false,
        signal,
      });
      if (res.status !== 202) throw await this.client.fail(res, `uploading blob bytes ${offset}-${offset + chunk.byteLength - 1}`, "other", signal);
      const range = res.headers.get("range");
      if (range !== undefined) {
        const m = /^(?:bytes=)?0-(\d+)$/.exec(range.trim());
        if (!m || Number(m[1]) !== offset + chunk.byteLength - 1) {
          await res.discard();
          throw new ProtocolError(`${redactURL(res.url)}: after ${offset + chunk.byteLength} bytes the registry reports Range ${JSON.stringify(range)}`);
        }
      }
      if (res.headers.get("location")) location = this.location(res);
      await res.discard();
      offset += chunk.byteLength;
    }
    return location;
  }

  /** `PUT <location>?digest=` with the body (or none); checks the registry's digest. */
  private async completeUpload(location: URL, digest: Digest, body: BlobStream | undefined, size: number, signal: AbortSignal | undefined): Promise<void> {
    const url = new URL(location);
    url.searchParams.set("digest", digest);
    const headers: Record<string, string> = { "content-type": "application/octet-stream" };
    if (body === undefined) headers["content-length"] = "0";
    else if (size >= 0) headers["content-length"] = String(size);
    const res = await this.client.request({ method: "PUT", url, headers, ...(body ? { body } : {}), retryable: body === undefined, signal });
    if (res.status !== 201 && res.status !== 204 && res.status !== 200) throw await this.client.fail(res, `completing the upload of blob ${digest}`, "other", signal);
    const reported = res.headers.get("docker-content-digest");
    await res.discard();
    if (reported !== undefined && isDigest(reported) && reported !== digest) {
      throw new ProtocolError(`${redactURL(url)}: the registry stored blob ${digest} as ${reported}`);
    }
  }

  /** Deletes an upload session, best effort (its failure is not the interesting one). */
  private async cancelUpload(location: URL): Promise<void> {
    try {
      const res = await this.client.request({ method: "DELETE", url: location, retryable: false, signal: AbortSignal.timeout(10_000) });
      await res.discard();
    } catch {
      // the session expires on the server anyway
    }
  }

  /** `HEAD` a blob in `repo`: its size when it exists, undefined when it does not. */
  private async blobSize(repo: string, digest: Digest, extraScope: AuthScope | undefined, signal: AbortSignal | undefined): Promise<number | undefined> {
    const res = await this.client.request({ method: "HEAD", url: `/v2/${repo}/blobs/${digest}`, ...(extraScope ? { extraScope } : {}), signal });
    if (res.status !== 200 && res.status !== 404) throw await this.client.fail(res, `checking blob ${digest} in ${repo}`, "blob", signal);
    await res.discard();
    if (res.status === 200) {
      try {
        return parseContentLength(res.headers.get("content-length")) ?? -1;
      } catch {
        return -1;
      }
    }
    return undefined;
  }

  /** Cross-repository mount; true when the registry mounted the blob. */
  private async mount(from: string, digest: Digest, extraScope: AuthScope, signal: AbortSignal | undefined): Promise<boolean> {
    const url = `/v2/${this.repo}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`;
    const res = await this.client.request({ method: "POST", url, extraScope, retryable: true, signal });
    if (res.status === 201) {
      await res.discard();
      return true;
    }
    if (res.status === 202) {
      // The registry started an ordinary upload instead: cancel it.
      let loc: URL | undefined;
      try {
        loc = this.location(res);
      } catch {
        loc = undefined;
      }
      await res.discard();
      if (loc) await this.cancelUpload(loc);
      return false;
    }
    await res.discard();
    return false;
  }

  /**
   * Reuses a blob without uploading it: the exact digest already in this
   * repository; else, from the blob-info cache (and the source reference
   * when on the same registry), a mount from another repository of this
   * registry; with `canSubstitute`, also known other compressions of the
   * same content. Failures while probing candidates are not fatal.
   */
  async tryReusingBlob(info: BlobInfo, options: TryReusingBlobOptions): Promise<ReusedBlob | undefined> {
    const signal = options.signal;
    if (info.digest === undefined) throw new UnsupportedError(`cannot look for a blob with an unknown digest in ${this.what}`);
    const digest = parseDigest(info.digest);
    const size = await this.blobSize(this.repo, digest, undefined, signal);
    if (size !== undefined) {
      this.recordLocation(options.cache, digest);
      return { digest, size: size >= 0 ? size : info.size, reason: "exists" };
    }
    const candidates = options.cache.candidateLocations(CACHE_TRANSPORT, this.reference.domain, digest, {
      canSubstitute: options.canSubstitute,
      ...(options.requiredCompression ? { requiredCompression: options.requiredCompression } : {}),
    });
    const tried = new Set<string>();
    const list: { digest: Digest; compressorName: string; repo: string }[] = [];
    for (const c of candidates) {
      if (c.unknownLocation || c.location === "") {
        if (c.digest !== digest) list.push({ digest: c.digest, compressorName: c.compressorName, repo: this.repo });
        continue;
      }
      let repo: string;
      try {
        const named = parseNormalizedNamed(c.location);
        if (domainOf(named) !== this.reference.domain) continue;
        repo = pathOf(named);
      } catch {
        continue;
      }
      list.push({ digest: c.digest, compressorName: c.compressorName, repo });
    }
    const src = options.srcRef?.dockerReference();
    if (src !== undefined) {
      try {
        const named = parseNormalizedNamed(src.name);
        if (domainOf(named) === this.reference.domain) list.push({ digest, compressorName: "unknown", repo: pathOf(named) });
      } catch {
        // not a usable reference
      }
    }
    for (const c of list) {
      throwIfAborted(signal);
      const key = `${c.repo}@${c.digest}`;
      if (tried.has(key) || (c.repo === this.repo && c.digest === digest)) continue;
      tried.add(key);
      const change = c.digest === digest ? { op: "preserve" as const } : operationFor(c.compressorName);
      if (change === undefined) continue;
      if (c.digest !== digest && options.requiredCompression !== undefined) {
        const name = change.op === "decompress" ? "uncompressed" : (change.algorithm ?? "unknown");
        const ok = name === options.requiredCompression || (options.requiredCompression === "zstd" && name === "zstd:chunked");
        if (!ok) continue;
      }
      try {
        const extraScope: AuthScope = { resourceType: "repository", remoteName: c.repo, actions: "pull" };
        const size = await this.blobSize(c.repo, c.digest, c.repo === this.repo ? undefined : extraScope, signal);
        if (size === undefined) continue;
        if (c.repo !== this.repo && !(await this.mount(c.repo, c.digest, extraScope, signal))) continue;
        this.recordLocation(options.cache, c.digest);
        const reused: ReusedBlob = {
          digest: c.digest,
          size: size >= 0 ? size : c.digest === digest ? info.size : -1,
          reason: c.repo === this.repo ? "substituted" : "mounted",
        };
        if (c.digest !== digest) {
          reused.compressionOperation = change.op;
          if (change.algorithm) reused.compressionAlgorithm = change.algorithm;
        }
        return reused;
      } catch (e) {
        if (signal?.aborted || e instanceof AbortError) throw e;
        // a candidate we may not read, or a registry hiccup: try the next one
      }
    }
    return undefined;
  }

  /**
   * Stores a manifest. With `instanceDigest`, by that digest. Without it,
   * the top-level manifest is stored by its digest now (so a registry that
   * refuses its type says so here, with `ManifestTypeRejectedError`, and the
   * copy engine can try another), and the reference's tag is pointed at it
   * only by {@link commit}: until then nothing is visible by tag. The bytes
   * must match the digest they are stored under.
   */
  async putManifest(bytes: Uint8Array, instanceDigest?: Digest, options: IoOptions = {}): Promise<void> {
    const signal = options.signal;
    if (bytes.byteLength > SizeLimits.manifest) {
      throw new SizeLimitExceededError(`the manifest for ${this.what} is ${bytes.byteLength} bytes, larger than the limit of ${SizeLimits.manifest} bytes`);
    }
    if (instanceDigest !== undefined) {
      const d = parseDigest(instanceDigest);
      if (!matchesDigest(bytes, d)) throw new DigestMismatchError(`manifest instance for ${this.what}`, d, manifestDigest(bytes));
      await this.sendManifest(bytes, d, signal);
      this.storedManifests.add(d);
      return;
    }
    const rd = this.reference.ref.digest;
    if (rd !== undefined && !matchesDigest(bytes, rd)) throw new DigestMismatchError(`manifest for ${this.what}`, rd, manifestDigest(bytes));
    const digest = rd ?? manifestDigest(bytes);
    await this.sendManifest(bytes, digest, signal);
    this.storedManifests.add(digest);
    this.topLevelDigest = digest;
    this.pendingTag = this.reference.ref.digest === undefined ? { bytes: bytes.slice(), tag: this.reference.tagOrDigest } : undefined;
  }

  private pendingTag: { bytes: Uint8Array; tag: string } | undefined;

  /** `PUT /manifests/<target>` with the guessed Content-Type; maps a type rejection. */
  private async sendManifest(bytes: Uint8Array, target: string, signal: AbortSignal | undefined): Promise<void> {
    const mimeType = guessMIMEType(bytes);
    const res = await this.client.request({
      method: "PUT",
      url: `/v2/${this.repo}/manifests/${target}`,
      headers: { ...(mimeType ? { "content-type": mimeType } : {}), "content-length": String(bytes.byteLength) },
      body: bytes,
      signal,
    });
    if (res.status === 201 || res.status === 200 || res.status === 202 || res.status === 204) {
      const reported = res.headers.get("docker-content-digest");
      await res.discard();
      if (reported !== undefined && isDigest(reported) && !matchesDigest(bytes, reported)) {
        throw new ProtocolError(
          `storing the manifest of ${this.what}: the registry reports digest ${reported}, but the manifest's digest is ${manifestDigest(bytes)}`,
        );
      }
      return;
    }
    const ctx = this.client.context(`storing manifest ${target}`, "manifest");
    let body;
    try {
      body = await readErrorBody(res, signal);
    } catch (e) {
      if (e instanceof SizeLimitExceededError) throw new SizeLimitExceededError(`${ctx.operation} for ${this.what}: ${e.message}`, { cause: e });
      throw e;
    }
    if (isManifestTypeRejection(res.status, body)) throw manifestRejected(res, body, ctx, mimeType);
    throw errorFromParsed(res, body, ctx);
  }

  /**
   * Stores signatures of the top-level manifest, or of the instance
   * `instanceDigest`; the manifest must have been stored with
   * {@link putManifest} first (else `ManifestUnknownError`). Where they go
   * is chosen by registries.d for the destination reference:
   *
   * - simple-signing signatures go to the lookaside (`lookaside-staging`,
   *   else `lookaside`, else the built-in default) as `signature-1`, … ,
   *   replacing the signatures stored there for that digest; the location
   *   must be a `file:` URL (else `UnsupportedError` naming the section and
   *   the fix);
   * - sigstore signatures are appended to the `sha256-<hex>.sig` attachment
   *   manifest (layers already there are kept, identical ones are not added
   *   twice); this needs `use-sigstore-attachments: true` (else
   *   `UnsupportedError`).
   *
   * The checks run now; nothing is written before {@link commit}. A later
   * call for the same digest replaces an earlier one; an empty list stores
   * nothing (signatures already stored stay, as with containers/image).
   */
  async putSignatures(signatures: readonly Signature[], instanceDigest?: Digest, options: IoOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    let digest: Digest | undefined;
    if (instanceDigest !== undefined) {
      digest = parseDigest(instanceDigest);
      if (!this.storedManifests.has(digest)) {
        if (signatures.length === 0) return;
        throw new ManifestUnknownError(`cannot store signatures for ${digest} at ${this.what}: no manifest with that digest was stored through this destination (call putManifest() first)`);
      }
    } else {
      digest = this.topLevelDigest;
      if (digest === undefined) {
        if (signatures.length === 0) return;
        throw new ManifestUnknownError(`cannot store signatures at ${this.what}: the manifest was not stored yet (call putManifest() first)`);
      }
    }
    if (signatures.length === 0) {
      this.pendingSignatures.delete(digest);
      return;
    }
    const simple: Uint8Array[] = [];
    const sigstore: SigstoreSignature[] = [];
    for (const [i, sig] of signatures.entries()) {
      if (sig.format === "sigstore-json") {
        if (sig.untrustedPayload.byteLength > SizeLimits.signature) {
          throw new SizeLimitExceededError(`sigstore signature ${i + 1} for ${this.what} has a ${sig.untrustedPayload.byteLength}-byte payload, larger than the limit of ${SizeLimits.signature} bytes`);
        }
        sigstore.push(sig);
      } else {
        const blob = encodeSignatureBlob(sig);
        if (blob.byteLength > SizeLimits.signature) {
          throw new SizeLimitExceededError(`signature ${i + 1} for ${this.what} is ${blob.byteLength} bytes, larger than the limit of ${SizeLimits.signature} bytes`);
        }
        simple.push(blob);
      }
    }
    let lookaside: LookasideLocation | undefined;
    if (simple.length > 0) {
      lookaside = lookasideLocationFor(this.registriesDir, this.reference.ref, { write: true, ctx: this.ctx });
      assertWritableLookaside(lookaside, `store ${simple.length} signature(s) of ${this.what}`);
    }
    if (sigstore.length > 0 && !useSigstoreAttachmentsFor(this.registriesDir, this.reference.ref)) {
      throw new UnsupportedError(
        `cannot store ${sigstore.length} sigstore signature(s) of ${this.what}: sigstore signatures are written as registry attachments only when ` +
          `"use-sigstore-attachments: true" is set for ${this.reference.ref.name} (a "docker" namespace covering it, or "default-docker") in registries.d (${this.registriesDir.dir})`,
      );
    }
    this.pendingSignatures.set(digest, { simple, sigstore, ...(lookaside ? { lookaside } : {}) });
  }

  /** Writes the pending signatures of every manifest: lookaside files, then attachments. */
  private async storePendingSignatures(signal: AbortSignal | undefined): Promise<void> {
    for (const [digest, p] of this.pendingSignatures) {
      throwIfAborted(signal);
      if (p.lookaside !== undefined && p.simple.length > 0) await writeLookasideSignatures(p.lookaside, digest, p.simple, signal);
      if (p.sigstore.length > 0) await this.putAttachments(digest, p.sigstore, signal);
      this.pendingSignatures.delete(digest);
    }
  }

  /**
   * Appends `signatures` to the attachment manifest of `digest`: reads the
   * existing manifest and config (if any), uploads the payloads not already
   * there as layers (annotations included), a config whose
   * `rootfs.diff_ids` lists the layers, and the manifest by its tag.
   */
  private async putAttachments(digest: Digest, signatures: readonly SigstoreSignature[], signal: AbortSignal | undefined): Promise<void> {
    const what = this.what;
    const existing = await readAttachmentManifest(this.client, digest, what, signal);
    let config: Record<string, unknown>;
    const layers: unknown[] = existing ? [...existing.rawLayers] : [];
    const known: AttachmentDescriptor[] = existing ? [...existing.layers] : [];
    if (existing === undefined) {
      config = { architecture: "", os: "", config: {}, rootfs: { type: "layers", diff_ids: [] } };
    } else {
      const bytes = await readDescriptorContents(this.client, existing.config, SizeLimits.config, `${existing.tag} of ${what}`, signal);
      let parsed: unknown;
      try {
        parsed = JSON.parse(fromUtf8(bytes));
      } catch (e) {
        throw new InvalidManifestError(`the config ${existing.config.digest} of ${existing.tag} of ${what} is not JSON`, { cause: e });
      }
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new InvalidManifestError(`the config ${existing.config.digest} of ${existing.tag} of ${what} is not a JSON object`);
      }
      config = parsed as Record<string, unknown>;
    }
    const rootfs: Record<string, unknown> = typeof config.rootfs === "object" && config.rootfs !== null && !Array.isArray(config.rootfs) ? { ...(config.rootfs as Record<string, unknown>) } : { type: "layers" };
    const diffIDs: unknown[] = Array.isArray(rootfs.diff_ids) ? [...(rootfs.diff_ids as unknown[])] : [];
    let added = 0;
    for (const sig of signatures) {
      const payload = sig.untrustedPayload;
      const payloadDigest = digestOf(payload);
      const annotations = sig.untrustedAnnotations;
      if (known.some((l) => l.mediaType === sig.untrustedMIMEType && l.size === payload.byteLength && l.digest === payloadDigest && sameAnnotations(l.annotations, annotations))) {
        continue;
      }
      await this.uploadBytes(payload, payloadDigest, signal);
      const layer = {
        mediaType: sig.untrustedMIMEType,
        digest: payloadDigest,
        size: payload.byteLength,
        ...(Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
      };
      layers.push(layer);
      known.push({ ...layer, annotations: { ...annotations } });
      diffIDs.push(payloadDigest);
      added++;
    }
    if (existing !== undefined && added === 0) return;
    rootfs.diff_ids = diffIDs;
    const configBytes = utf8(JSON.stringify({ ...config, rootfs }));
    const configDigest = digestOf(configBytes);
    await this.uploadBytes(configBytes, configDigest, signal);
    const manifest = existing
      ? { ...existing.raw, config: { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: configDigest, size: configBytes.byteLength }, layers }
      : {
          schemaVersion: 2,
          mediaType: OCI_MANIFEST_MEDIA_TYPE,
          config: { mediaType: OCI_CONFIG_MEDIA_TYPE, digest: configDigest, size: configBytes.byteLength },
          layers,
        };
    const bytes = utf8(JSON.stringify(manifest));
    if (bytes.byteLength > SizeLimits.manifest) {
      throw new SizeLimitExceededError(`the attachment manifest ${sigstoreAttachmentTag(digest)} for ${what} would be ${bytes.byteLength} bytes, larger than the limit of ${SizeLimits.manifest} bytes`);
    }
    await this.sendManifest(bytes, sigstoreAttachmentTag(digest), signal);
  }

  /** Uploads a small blob unless the repository already has it. */
  private async uploadBytes(bytes: Uint8Array, digest: Digest, signal: AbortSignal | undefined): Promise<void> {
    if ((await this.blobSize(this.repo, digest, undefined, signal)) !== undefined) return;
    const location = await this.startUpload(signal);
    try {
      await this.completeUpload(location, digest, streamOf(bytes), bytes.byteLength, signal);
    } catch (e) {
      await this.cancelUpload(location);
      throw e;
    }
  }

  /**
   * Writes the signatures given to {@link putSignatures} (lookaside files,
   * attachment manifests), then points the reference's tag at the
   * top-level manifest stored by {@link putManifest} (a digest reference
   * needs no tag). When storing signatures fails, the tag is not moved.
   */
  async commit(options: CommitOptions = {}): Promise<void> {
    throwIfAborted(options.signal);
    await this.storePendingSignatures(options.signal);
    const pending = this.pendingTag;
    if (pending === undefined) return;
    await this.sendManifest(pending.bytes, pending.tag, options.signal);
    this.pendingTag = undefined;
  }

  /** Nothing to release: connections are pooled per process. */
  async close(): Promise<void> {}

  /** For messages. */
  toString(): string {
    return `docker destination ${this.what} (${describe(this.client.host)})`;
  }
}

/** Fails the stream as soon as it is longer than `size` (−1: unknown), or at its end when shorter. */
async function* limitSize(stream: BlobStream, size: number, what: string): BlobStream {
  let n = 0;
  for await (const c of stream) {
    n += c.byteLength;
    if (size >= 0 && n > size) throw new SizeMismatchError(what, size, n, { atLeast: true });
    yield c;
  }
  if (size >= 0 && n !== size) throw new SizeMismatchError(what, size, n);
}

/** Re-chunks a stream into pieces of exactly `size` bytes (the last may be shorter). */
async function* chunked(stream: BlobStream, size: number): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let fill = 0;
  for await (const c of stream) {
    let off = 0;
    while (off < c.byteLength) {
      const n = Math.min(size - fill, c.byteLength - off);
      buf.set(c.subarray(off, off + n), fill);
      fill += n;
      off += n;
      if (fill === size) {
        yield buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}

/** Signatures of one manifest waiting for the commit. */
interface PendingSignatures {
  /** Simple-signing signature blobs, for the lookaside. */
  readonly simple: readonly Uint8Array[];
  readonly lookaside?: LookasideLocation;
  /** Sigstore signatures, for the attachment manifest. */
  readonly sigstore: readonly SigstoreSignature[];
}

/**
 * Opens a destination for `ref` (registries.conf `blocked` applies to
 * pushes too); registries.d is read now, so that a broken configuration
 * fails before anything is uploaded.
 */
export async function openDestination(ref: DockerImageReference, ctx: SystemContext, options: IoOptions): Promise<DockerImageDestination> {
  const registriesDir = await loadRegistriesDir(ctx, options.signal ? { signal: options.signal } : {});
  const client = await openClient({ ctx, options: ref.options, ref: ref.ref, actions: "pull,push", signal: options.signal });
  return new DockerImageDestination(ref, client, ctx, registriesDir);
}
