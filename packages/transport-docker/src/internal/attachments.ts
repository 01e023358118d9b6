/**
 * Sigstore attachments: an OCI manifest tagged `sha256-<hex>.sig` in the
 * image's repository, one layer per signature (the payload as the blob,
 * the signature in the layer's annotations).
 *
 * @module
 */
import { guessMIMEType, OCI_MANIFEST_MEDIA_TYPE } from "@stevedore/manifest";
import {
  fromUtf8,
  InvalidManifestError,
  ManifestUnknownError,
  parseDigest,
  readAll,
  SizeLimitExceededError,
  UnsupportedManifestTypeError,
  verifyStream,
  type Digest,
  type SigstoreSignature,
} from "@stevedore/types";
import { sigstoreAttachmentTag } from "../registries-d.js";
import { fetchManifest } from "../source.js";
import type { RegistryClient } from "./client.js";

/** An OCI descriptor of an attachment manifest, checked. */
export interface AttachmentDescriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly annotations: Readonly<Record<string, string>>;
}

/** A parsed attachment manifest: the JSON object as read, and its checked config and layers. */
export interface AttachmentManifest {
  readonly tag: string;
  readonly raw: Record<string, unknown>;
  readonly config: AttachmentDescriptor;
  /** The layers, checked, in order. */
  readonly layers: readonly AttachmentDescriptor[];
  /** The layer objects as read (written back unchanged when signatures are appended). */
  readonly rawLayers: readonly unknown[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function descriptor(v: unknown, what: string): AttachmentDescriptor {
  if (!isObject(v)) throw new InvalidManifestError(`${what} is not an object`);
  const mediaType = v.mediaType ?? "";
  if (typeof mediaType !== "string") throw new InvalidManifestError(`${what}: "mediaType" is not a string`);
  const digest = parseDigest(v.digest);
  const size = v.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw new InvalidManifestError(`${what}: "size" is not a non-negative integer`);
  const annotations: Record<string, string> = {};
  if (v.annotations !== undefined && v.annotations !== null) {
    if (!isObject(v.annotations)) throw new InvalidManifestError(`${what}: "annotations" is not an object`);
    for (const [k, a] of Object.entries(v.annotations)) {
      if (typeof a !== "string") throw new InvalidManifestError(`${what}: annotation ${JSON.stringify(k)} is not a string`);
      annotations[k] = a;
    }
  }
  return { mediaType, digest, size, annotations };
}

/**
 * The attachment manifest of `digest` in the client's repository, or
 * undefined when its tag does not exist. Anything but an OCI image
 * manifest is an error.
 */
export async function readAttachmentManifest(client: RegistryClient, digest: Digest, what: string, signal: AbortSignal | undefined): Promise<AttachmentManifest | undefined> {
  const tag = sigstoreAttachmentTag(digest);
  const name = `sigstore attachment manifest ${tag} of ${what}`;
  let m;
  try {
    m = await fetchManifest(client, tag, undefined, what, signal);
  } catch (e) {
    if (e instanceof ManifestUnknownError) return undefined;
    throw e;
  }
  const mimeType = m.mimeType !== "" ? m.mimeType : guessMIMEType(m.bytes);
  if (mimeType !== OCI_MANIFEST_MEDIA_TYPE) {
    throw new UnsupportedManifestTypeError(`${name} has the MIME type ${JSON.stringify(mimeType)}, not ${OCI_MANIFEST_MEDIA_TYPE}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(fromUtf8(m.bytes));
  } catch (e) {
    throw new InvalidManifestError(`${name} is not JSON`, { cause: e });
  }
  if (!isObject(doc)) throw new InvalidManifestError(`${name} is not a JSON object`);
  if (doc.schemaVersion !== 2) throw new InvalidManifestError(`${name}: "schemaVersion" is not 2`);
  if (doc.mediaType !== undefined && doc.mediaType !== OCI_MANIFEST_MEDIA_TYPE) {
    throw new InvalidManifestError(`${name}: "mediaType" ${JSON.stringify(doc.mediaType)} is not ${OCI_MANIFEST_MEDIA_TYPE}`);
  }
  const config = descriptor(doc.config, `${name}: config`);
  const rawLayers = doc.layers ?? [];
  if (!Array.isArray(rawLayers)) throw new InvalidManifestError(`${name}: "layers" is not a list`);
  const layers = rawLayers.map((l, i) => descriptor(l, `${name}: layer ${i + 1}`));
  return { tag, raw: doc, config, layers, rawLayers };
}

/**
 * The bytes of a blob of the client's repository named by `desc`, at most
 * `limit` bytes, verified against the descriptor's digest and size while
 * read.
 */
export async function readDescriptorContents(
  client: RegistryClient,
  desc: AttachmentDescriptor,
  limit: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const name = `blob ${desc.digest} of ${what}`;
  if (desc.size > limit) throw new SizeLimitExceededError(`${name} is ${desc.size} bytes, larger than the limit of ${limit} bytes`);
  const res = await client.request({ method: "GET", url: `/v2/${client.repository}/blobs/${desc.digest}`, signal });
  if (res.status !== 200) throw await client.fail(res, `reading blob ${desc.digest}`, "blob", signal);
  try {
    return await readAll(verifyStream(res.body, { digest: desc.digest, size: desc.size }, { what: name, ...(signal ? { signal } : {}) }), {
      limit,
      what: name,
      ...(signal ? { signal } : {}),
    });
  } catch (e) {
    await res.discard();
    throw e;
  }
}

/** The sigstore signatures attached to `digest` (none when there is no attachment manifest). */
export async function readAttachmentSignatures(
  client: RegistryClient,
  digest: Digest,
  limit: number,
  what: string,
  signal: AbortSignal | undefined,
): Promise<SigstoreSignature[]> {
  const m = await readAttachmentManifest(client, digest, what, signal);
  if (m === undefined) return [];
  const out: SigstoreSignature[] = [];
  for (const layer of m.layers) {
    const payload = await readDescriptorContents(client, layer, limit, `${m.tag} of ${what}`, signal);
    out.push({ format: "sigstore-json", untrustedMIMEType: layer.mediaType, untrustedPayload: payload, untrustedAnnotations: { ...layer.annotations } });
  }
  return out;
}

/** Whether two annotation maps hold the same entries. */
export function sameAnnotations(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.hasOwn(b, k) && b[k] === a[k]);
}
