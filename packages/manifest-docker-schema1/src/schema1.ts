import type { Digest } from "@stevedore/types";
import {
  checkSchemaVersion,
  go,
  goArray,
  goCompactNode,
  GoDecodeError,
  goDecode,
  goObject,
  goQuote,
  invalid,
  jsonBytes,
  jsonKind,
  ObjectReader,
  parseJSONDocument,
  readDigest,
  rejectAmbiguousFields,
  rootObject,
  type GoValue,
  type JSONDocument,
  type JSONObjectNode,
} from "@stevedore/manifest-oci";
import { parseSchema1JWS, signSchema1Payload, verifySchema1JWS, type Schema1JWS, type SignSchema1Options, type VerifiedSchema1Signature } from "./jws.js";

/** An entry of `fsLayers`. */
export interface Schema1FSLayer {
  blobSum: Digest;
}

/** An entry of `history`: the v1 image JSON of one layer, as a string. */
export interface Schema1HistoryEntry {
  v1Compatibility: string;
}

/** The fields of a `v1Compatibility` entry that the manifest logic uses. */
export interface Schema1V1Compatibility {
  id: string;
  parent: string;
  comment: string;
  /** `created`, normalised as Go writes times. */
  created: string;
  /** `container_config.Cmd`, null when absent. */
  cmd: string[] | null;
  author: string;
  /** The layer is empty (`throwaway`). */
  throwAway: boolean;
}

/**
 * A Docker schema 1 manifest. `fsLayers` and `history` run from the top
 * layer down to the base; consecutive entries with the same v1 ID have been
 * reduced to one, as the Go library does when it reads a manifest.
 */
export interface Schema1Manifest {
  schemaVersion: 1;
  name: string;
  tag: string;
  architecture: string;
  fsLayers: Schema1FSLayer[];
  history: Schema1HistoryEntry[];
  /** `history` decoded, same length and order. */
  v1Compatibility: Schema1V1Compatibility[];
}

/** A parsed schema 1 document. */
export interface ParsedSchema1 {
  manifest: Schema1Manifest;
  /** The document carries JWS signatures. */
  signed: boolean;
  /** The bytes the digest is computed over: the JWS payload when signed, else the document. */
  payload: Uint8Array;
  /** The signatures, when signed. */
  jws?: Schema1JWS;
}

const WHAT = "Docker schema 1 manifest";
const fail = invalid(WHAT);
const MANIFEST_FIELDS = ["schemaVersion", "name", "tag", "architecture", "fsLayers", "history", "signatures"];

/** The Go library's `Schema1V1Compatibility`, for decoding history entries. */
export const V1_COMPATIBILITY_TYPE = go.struct(
  go.field("id", go.string),
  go.field("parent", go.string, true),
  go.field("comment", go.string, true),
  go.field("created", go.time),
  go.field("container_config", go.struct(go.field("Cmd", go.slice(go.string))), true),
  go.field("author", go.string, true),
  go.field("throwaway", go.bool, true),
);

/** Encodes a v1Compatibility entry as the Go library writes the ones it creates. */
export function encodeV1Compatibility(v: Schema1V1Compatibility): string {
  return goObject([
    ["id", goQuote(v.id)],
    ["parent", v.parent ? goQuote(v.parent) : undefined],
    ["comment", v.comment ? goQuote(v.comment) : undefined],
    ["created", goQuote(v.created)],
    ["container_config", goObject([["Cmd", v.cmd === null ? "null" : goArray(v.cmd, goQuote)]])],
    ["author", v.author ? goQuote(v.author) : undefined],
    ["throwaway", v.throwAway ? "true" : undefined],
  ]);
}

/** Decodes one `v1Compatibility` string (JSON text) with Go's rules. */
export function decodeV1Compatibility(text: string, where: string): Schema1V1Compatibility {
  const doc = parseJSONDocument(text, { what: `${WHAT} (${where})` });
  if (doc.root.kind !== "object") throw fail(`${where}: must be a JSON object, got ${jsonKind(doc.root)}`);
  let v: { [k: string]: GoValue };
  try {
    v = goDecode(doc, doc.root, V1_COMPATIBILITY_TYPE) as { [k: string]: GoValue };
  } catch (e) {
    if (e instanceof GoDecodeError) throw fail(`${where}: ${e.message}`, e);
    throw e;
  }
  const cc = v.container_config as { [k: string]: GoValue };
  return {
    id: v.id as string,
    parent: v.parent as string,
    comment: v.comment as string,
    created: v.created as string,
    cmd: cc.Cmd as string[] | null,
    author: v.author as string,
    throwAway: v.throwaway as boolean,
  };
}

const V1_ID = /^[a-f0-9]{64}$/;

/**
 * Parses a schema 1 manifest, signed or not. For a signed one the JWS
 * structure is checked and the payload cut out; the payload must be the same
 * manifest as the document without `signatures` (a document whose signed
 * part says something else is refused). Then: `schemaVersion` 1,
 * `fsLayers` and `history` of equal, non-zero length, valid digests, every
 * `v1Compatibility` valid JSON with a 64-hex `id`, the base layer without a
 * parent, each layer's parent the next entry's ID, no ID repeated except
 * consecutively (consecutive repeats are reduced to one entry). Throws
 * `InvalidManifestError`; cryptographic verification is
 * {@link verifySchema1Signatures}.
 */
export function parseSchema1Manifest(bytes: Uint8Array): ParsedSchema1 {
  const doc = parseJSONDocument(bytes, { what: WHAT });
  const signed = extractSignedPayload(bytes, doc);
  if (signed === undefined) return { manifest: schema1FromDocument(doc), signed: false, payload: bytes };
  return { manifest: schema1FromDocument(signed.payloadDoc), signed: true, payload: signed.jws.payload, jws: signed.jws };
}

/**
 * For a signed document: the JWS and the parsed payload, checked to be the
 * same manifest as the document without `signatures`; undefined when the
 * document has no (or `null`) `signatures`.
 */
function extractSignedPayload(bytes: Uint8Array, doc: JSONDocument): { jws: Schema1JWS; payloadDoc: JSONDocument } | undefined {
  const root = rootObject(doc, WHAT);
  const sigNode = findMember(root, "signatures");
  if (sigNode === undefined || sigNode.kind === "null") return undefined;
  const jws = parseSchema1JWS(bytes, doc);
  const payloadDoc = parseJSONDocument(jws.payload, { what: `${WHAT} (signed payload)` });
  const payloadRoot = rootObject(payloadDoc, `${WHAT} (signed payload)`);
  if (findMember(payloadRoot, "signatures") !== undefined) throw fail("the signed payload itself contains signatures");
  if (compactWithout(doc, root, "signatures") !== compactWithout(payloadDoc, payloadRoot, "signatures")) {
    throw fail("the signed payload (formatLength/formatTail) is not the manifest the document contains");
  }
  return { jws, payloadDoc };
}

function findMember(o: JSONObjectNode, key: string) {
  let found;
  for (const [k, v] of o.entries) if (k === key) found = v;
  return found;
}

function compactWithout(doc: JSONDocument, o: JSONObjectNode, key: string): string {
  return o.entries
    .filter(([k]) => k !== key)
    .map(([k, v]) => `${goQuote(k)}:${goCompactNode(doc, v)}`)
    .join(",");
}

function schema1FromDocument(doc: JSONDocument): Schema1Manifest {
  const root = rootObject(doc, WHAT);
  rejectAmbiguousFields(root, WHAT, ["fsLayers", "history"]);
  const r = new ObjectReader(root, "", fail, MANIFEST_FIELDS);
  checkSchemaVersion(r, 1);
  const fsLayers = r.array("fsLayers", true).items.map((node, i): Schema1FSLayer => {
    if (node.kind !== "object") throw fail(`fsLayers[${i}]: must be an object, got ${jsonKind(node)}`);
    return { blobSum: readDigest(new ObjectReader(node, `fsLayers[${i}]`, fail, ["blobSum"]), "blobSum") };
  });
  const history = r.array("history", true).items.map((node, i): Schema1HistoryEntry => {
    if (node.kind !== "object") throw fail(`history[${i}]: must be an object, got ${jsonKind(node)}`);
    return { v1Compatibility: new ObjectReader(node, `history[${i}]`, fail, ["v1Compatibility"]).string("v1Compatibility", true) };
  });
  if (fsLayers.length !== history.length) {
    throw fail(`length of history (${history.length}) not equal to number of layers (${fsLayers.length})`);
  }
  if (fsLayers.length === 0) throw fail("no fsLayers in manifest");
  const v1 = history.map((h, i) => decodeV1Compatibility(h.v1Compatibility, `history[${i}].v1Compatibility`));
  const m: Schema1Manifest = {
    schemaVersion: 1,
    name: r.string("name") ?? "",
    tag: r.string("tag") ?? "",
    architecture: r.string("architecture") ?? "",
    fsLayers,
    history,
    v1Compatibility: v1,
  };
  fixManifestLayers(m);
  return m;
}

/** Validates the v1 ID chain and removes consecutive duplicate entries (in place). */
function fixManifestLayers(m: Schema1Manifest): void {
  const v1 = m.v1Compatibility;
  for (const [i, c] of v1.entries()) {
    if (!V1_ID.test(c.id)) throw fail(`history[${i}]: image ID ${JSON.stringify(c.id)} is invalid`);
  }
  if ((v1[v1.length - 1] as Schema1V1Compatibility).parent !== "") throw fail("invalid parent ID in the base layer of the image");
  const seen = new Set<string>();
  let last: string | undefined;
  for (const [i, c] of v1.entries()) {
    if (c.id !== last && seen.has(c.id)) throw fail(`history[${i}]: ID ${c.id} appears multiple times in manifest`);
    last = c.id;
    seen.add(c.id);
  }
  for (let i = v1.length - 2; i >= 0; i--) {
    const cur = v1[i] as Schema1V1Compatibility;
    const next = v1[i + 1] as Schema1V1Compatibility;
    if (cur.id === next.id) {
      m.fsLayers.splice(i, 1);
      m.history.splice(i, 1);
      v1.splice(i, 1);
    } else if (cur.parent !== next.id) {
      throw fail(`history[${i}]: invalid parent ID: expected ${next.id}, got ${JSON.stringify(cur.parent)}`);
    }
  }
}

/**
 * The unsigned JSON of a schema 1 manifest, as the Go library writes it
 * (`name`, `tag`, `architecture`, `fsLayers`, `history`, `schemaVersion`,
 * compact). Deterministic; this is the payload a signature covers, so its
 * digest is the manifest digest.
 */
export function serializeSchema1Payload(m: Pick<Schema1Manifest, "name" | "tag" | "architecture" | "fsLayers" | "history">): Uint8Array {
  return jsonBytes(
    goObject([
      ["name", goQuote(m.name)],
      ["tag", goQuote(m.tag)],
      ["architecture", goQuote(m.architecture)],
      ["fsLayers", goArray(m.fsLayers, (l) => goObject([["blobSum", goQuote(l.blobSum)]]))],
      ["history", goArray(m.history, (h) => goObject([["v1Compatibility", goQuote(h.v1Compatibility)]]))],
      ["schemaVersion", "1"],
    ]),
  );
}

/**
 * Serialises and signs a schema 1 manifest as the Go library does: the
 * payload of {@link serializeSchema1Payload} with one ES256 signature by a
 * fresh ephemeral key. The bytes differ on every call (the key and time do);
 * the digest (over the payload) does not.
 */
export async function serializeSchema1Manifest(
  m: Pick<Schema1Manifest, "name" | "tag" | "architecture" | "fsLayers" | "history">,
  options?: SignSchema1Options,
): Promise<Uint8Array> {
  return signSchema1Payload(serializeSchema1Payload(m), options);
}

/**
 * Verifies the JWS signatures of a signed schema 1 manifest (see
 * {@link verifySchema1JWS}); an unsigned manifest has none and gives `[]`.
 * Throws `InvalidManifestError` for a malformed document and
 * `SignatureInvalidError` when a signature does not verify.
 */
export async function verifySchema1Signatures(bytes: Uint8Array): Promise<VerifiedSchema1Signature[]> {
  const parsed = parseSchema1Manifest(bytes);
  if (parsed.jws === undefined) return [];
  return verifySchema1JWS(parsed.jws);
}

/**
 * The bytes a schema 1 manifest's digest covers: the JWS payload of a signed
 * manifest, the document itself otherwise. Throws `InvalidManifestError` when
 * the signature structure is malformed.
 */
export function schema1Payload(bytes: Uint8Array): Uint8Array {
  const signed = extractSignedPayload(bytes, parseJSONDocument(bytes, { what: WHAT }));
  return signed === undefined ? bytes : signed.jws.payload;
}
