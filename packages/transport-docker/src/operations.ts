/**
 * Registry operations beyond reading and writing an image: tag listing,
 * catalog, deletion, and the manifest digest of a tag.
 *
 * @module
 */
import { defaultAcceptMIMETypes, manifestDigest } from "@stevedore/manifest";
import { anchoredTagRegexp, domain as domainOf, parseNormalizedNamed, path as pathOf } from "@stevedore/reference";
import {
  DigestMismatchError,
  digestAlgorithm,
  fromUtf8,
  InvalidReferenceError,
  isDigest,
  ProtocolError,
  readAll,
  StevedoreError,
  throwIfAborted,
  type DockerReference,
  type ImageReference,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";
import type { RegistryClient } from "./internal/client.js";
import { deleteLookasideSignatures } from "./internal/lookaside.js";
import { parseNextLink } from "./internal/headers.js";
import { openClient } from "./internal/open.js";
import { redactURL } from "./internal/redact.js";
import { resolveOptions, type ResolvedTransportOptions } from "./options.js";
import type { DockerImageReference } from "./reference.js";
import { loadRegistriesDir, lookasideLocationFor } from "./registries-d.js";
import { fetchManifest, tagOrDigestOf } from "./source.js";

/** The most bytes one page of a tag or catalog listing may have. */
export const MAX_LIST_PAGE_BYTES = 8 * 1024 * 1024;

/** Options of {@link listTags} and {@link listRepositories}. */
export interface ListOptions extends IoOptions {
  /** Ask for pages of this many entries (the `n` parameter); the registry chooses when unset. */
  pageSize?: number;
  /**
   * The transport instance whose options apply (trusted token realms, page
   * limit, idle timeout) when `ref` is a string or for the catalog; default
   * the options of the reference, else the defaults.
   */
  transport?: { readonly options: ResolvedTransportOptions };
}

const defaultOptions = resolveOptions();

function optionsOf(ref: unknown): ResolvedTransportOptions | undefined {
  const o = (ref as { options?: ResolvedTransportOptions } | undefined)?.options;
  return o && typeof o === "object" && "idleTimeoutMs" in o ? o : undefined;
}

function dockerRefOf(ref: ImageReference | DockerReference | string): DockerReference {
  if (typeof ref === "string") return parseNormalizedNamed(ref.startsWith("docker://") ? ref.slice("docker://".length) : ref);
  const r = ref as Partial<ImageReference> & Partial<DockerReference>;
  if (typeof r.dockerReference === "function") {
    if (r.transport?.name !== "docker") {
      throw new InvalidReferenceError(`tags can only be listed for docker:// references, not ${r.transport?.name ?? "this"} ones`);
    }
    const d = r.dockerReference();
    if (d === undefined) throw new InvalidReferenceError("the reference names no docker repository");
    return d;
  }
  if (typeof r.name === "string") return ref as DockerReference;
  throw new InvalidReferenceError("listTags() needs a docker:// reference, a docker reference or a repository name");
}

/** Follows a paginated listing (`Link: <…>; rel="next"`), collecting one JSON field per page. */
async function paginate(
  client: RegistryClient,
  firstPath: string,
  field: "tags" | "repositories",
  operation: string,
  kind: "repository" | "other",
  maxPages: number,
  signal: AbortSignal | undefined,
): Promise<unknown[]> {
  const out: unknown[] = [];
  let url = await client.url(firstPath, signal);
  for (let page = 0; ; page++) {
    throwIfAborted(signal);
    if (page >= maxPages) {
      throw new ProtocolError(`${operation} on registry ${client.domain}: more than ${maxPages} pages; stopping (${redactURL(url)})`);
    }
    const res = await client.request({ method: "GET", url, headers: { accept: "application/json" }, signal });
    if (res.status !== 200) throw await client.fail(res, operation, kind, signal);
    const next = parseNextLink(res.headers.getAll("link"));
    let doc: unknown;
    try {
      const bytes = await readAll(res.body, { limit: MAX_LIST_PAGE_BYTES, what: `a page of ${operation} (${redactURL(url)})`, ...(signal ? { signal } : {}) });
      doc = JSON.parse(fromUtf8(bytes));
    } catch (e) {
      await res.discard();
      if (e instanceof SyntaxError || e instanceof TypeError) throw new ProtocolError(`${operation}: ${redactURL(url)} did not answer JSON`, { cause: e });
      throw e;
    }
    const list = doc && typeof doc === "object" ? (doc as Record<string, unknown>)[field] : undefined;
    if (list !== undefined && list !== null && !Array.isArray(list)) throw new ProtocolError(`${operation}: "${field}" in ${redactURL(url)} is not a list`);
    if (Array.isArray(list)) out.push(...list);
    if (next === undefined) return out;
    let nextURL: URL;
    try {
      nextURL = new URL(next, url);
    } catch {
      throw new ProtocolError(`${operation}: ${redactURL(url)} sent an invalid Link header`);
    }
    if (nextURL.origin !== url.origin) {
      throw new ProtocolError(`${operation}: the next page ${redactURL(nextURL)} is on another origin than ${redactURL(url)}; not following it`);
    }
    url = nextURL;
  }
}

function pageQuery(pageSize: number | undefined): string {
  if (pageSize === undefined) return "";
  if (!Number.isSafeInteger(pageSize) || pageSize <= 0) throw new TypeError(`pageSize must be a positive integer, got ${String(pageSize)}`);
  return `?n=${pageSize}`;
}

/**
 * The tags of a repository (a `docker://` image reference, a docker
 * reference, or a repository name such as `quay.io/org/app` or
 * `docker://quay.io/org/app`; a tag or digest on it is ignored),
 * following `Link` pagination up to the transport's page limit. Empty and
 * digest-shaped entries (some registries list them) are skipped; any other
 * invalid tag is a `ProtocolError`.
 */
export async function listTags(
  ref: ImageReference | DockerReference | string,
  ctx: SystemContext = {},
  options: ListOptions = {},
): Promise<string[]> {
  const dref = dockerRefOf(ref);
  const topts = options.transport?.options ?? optionsOf(ref) ?? defaultOptions;
  const client = await openClient({ ctx, options: topts, ref: dref, actions: "pull", signal: options.signal });
  const raw = await paginate(
    client,
    `/v2/${client.repository}/tags/list${pageQuery(options.pageSize)}`,
    "tags",
    `listing the tags of ${dref.name}`,
    "repository",
    topts.maxListPages,
    options.signal,
  );
  const tags: string[] = [];
  for (const t of raw) {
    if (typeof t !== "string") throw new ProtocolError(`registry ${client.domain} listed a tag that is not a string in ${dref.name}`);
    if (t === "" || isDigest(t)) continue;
    if (!anchoredTagRegexp.test(t)) throw new ProtocolError(`registry ${client.domain} listed an invalid tag ${JSON.stringify(t.slice(0, 200))} in ${dref.name}`);
    tags.push(t);
  }
  return tags;
}

/**
 * The repositories of a registry (`GET /v2/_catalog`, with pagination).
 * `registry` is a `host[:port]` as references name it (`docker.io`,
 * `localhost:5000`). Token registries grant the `registry:catalog:*`
 * scope on the `insufficient_scope` retry.
 */
export async function listRepositories(registry: string, ctx: SystemContext = {}, options: ListOptions = {}): Promise<string[]> {
  const named = parseNormalizedNamed(`${registry}/catalog-probe`);
  if (domainOf(named) !== registry && !(registry === "index.docker.io" && domainOf(named) === "docker.io")) {
    throw new TypeError(`listRepositories: "${registry}" is not a registry host[:port]`);
  }
  const topts = options.transport?.options ?? defaultOptions;
  const client = await openClient({ ctx, options: topts, ref: named, actions: "", registryOnly: true, signal: options.signal });
  const raw = await paginate(client, `/v2/_catalog${pageQuery(options.pageSize)}`, "repositories", `listing the repositories of ${registry}`, "other", topts.maxListPages, options.signal);
  return raw.filter((r): r is string => typeof r === "string" && r !== "");
}

/**
 * The digest of the manifest `ref` names. A `HEAD` checks that it exists;
 * for a digest reference that digest is the answer (a registry reporting
 * another `Docker-Content-Digest` is a `DigestMismatchError`). For a tag,
 * the manifest is fetched and hashed: the registry's `Docker-Content-Digest`
 * header is never taken as the image's identity.
 */
export async function getManifestDigest(ref: DockerImageReference, ctx: SystemContext = {}, options: IoOptions = {}): Promise<string> {
  const signal = options.signal;
  const client = await openClient({ ctx, options: ref.options, ref: ref.ref, actions: "pull", signal });
  const what = ref.toString();
  const res = await client.request({
    method: "HEAD",
    url: `/v2/${client.repository}/manifests/${ref.tagOrDigest}`,
    headers: { accept: defaultAcceptMIMETypes.join(", ") },
    signal,
  });
  if (res.status !== 200) throw await client.fail(res, `checking manifest ${ref.tagOrDigest}`, "manifest", signal);
  await res.discard();
  const header = res.headers.get("docker-content-digest")?.trim();
  const reported = header !== undefined && isDigest(header) ? header : undefined;
  if (ref.ref.digest !== undefined) {
    if (reported !== undefined && reported !== ref.ref.digest) {
      throw new DigestMismatchError(`manifest of ${what} (Docker-Content-Digest of ${redactURL(res.url)})`, ref.ref.digest, reported);
    }
    return ref.ref.digest;
  }
  const m = await fetchManifest(client, tagOrDigestOf(ref.ref), undefined, what, signal);
  return manifestDigest(m.bytes, reported !== undefined ? digestAlgorithm(reported) : "sha256");
}

/**
 * Deletes the manifest `ref` names: fetches it (by tag or digest, verifying
 * a digest reference), computes its digest from the bytes, then
 * `DELETE /v2/<repo>/manifests/<digest>`. Every tag pointing at that
 * manifest goes with it, as with the registry API. The registry must allow
 * deletion. Then the lookaside signatures of that digest (registries.d's
 * writing location) are removed, as containers/image does; when that
 * location is not a `file:` URL this throws `UnsupportedError` after the
 * manifest was deleted. Sigstore attachments are left in place.
 */
export async function deleteImage(ref: DockerImageReference, ctx: SystemContext = {}, options: IoOptions = {}): Promise<void> {
  const signal = options.signal;
  const registriesDir = await loadRegistriesDir(ctx, signal ? { signal } : {});
  const lookaside = lookasideLocationFor(registriesDir, ref.ref, { write: true, ctx });
  const client = await openClient({ ctx, options: ref.options, ref: ref.ref, actions: "*", signal });
  const what = ref.toString();
  const m = await fetchManifest(client, ref.tagOrDigest, ref.ref.digest, what, signal);
  const digest = ref.ref.digest ?? manifestDigest(m.bytes);
  const res = await client.request({ method: "DELETE", url: `/v2/${pathOf(ref.ref)}/manifests/${digest}`, signal });
  if (res.status !== 202 && res.status !== 200 && res.status !== 204) throw await client.fail(res, `deleting manifest ${digest}`, "manifest", signal);
  await res.discard();
  try {
    await deleteLookasideSignatures(lookaside, digest, 1, signal);
  } catch (e) {
    if (e instanceof StevedoreError) e.message = `the manifest ${digest} of ${what} was deleted, but its signatures were not: ${e.message}`;
    throw e;
  }
}

/**
 * Checks that the registry accepts `ctx`'s credentials (what `login` does
 * before saving them): `GET /v2/` with them, through the registry's token
 * server when it uses one. Throws `UnauthorizedError` when they are refused.
 */
export async function checkAuth(registry: string, ctx: SystemContext = {}, options: IoOptions & { transport?: { readonly options: ResolvedTransportOptions } } = {}): Promise<void> {
  const named = parseNormalizedNamed(`${registry}/login-probe`);
  const topts = options.transport?.options ?? defaultOptions;
  const client = await openClient({ ctx, options: topts, ref: named, actions: "", registryOnly: true, signal: options.signal });
  const res = await client.request({ method: "GET", url: "/v2/", signal: options.signal, retryable: true });
  if (res.status !== 200) throw await client.fail(res, `logging in to ${registry}`, "other", options.signal);
  await res.discard();
}
