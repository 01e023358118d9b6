/**
 * Image configurations as the Go library reads and rewrites them during
 * conversions: the Go struct definitions (field order, `omitempty`) of
 * image-spec's `Image` (as vendored by containers/image 5.23, which skopeo
 * 1.9 uses) and Docker's image/container config, decoded and encoded with
 * Go's rules so that converted configs are byte-identical.
 */
import type { Schema1Manifest } from "@stevedore/manifest-docker-schema1";
import {
  compareCodePoints,
  go,
  goArray,
  goCompactNode,
  GoDecodeError,
  goDecode,
  goEncode,
  goObject,
  goQuote,
  jsonBytes,
  parseJSONDocument,
  type GoType,
  type GoValue,
  type JSONDocument,
  type JSONNode,
} from "@stevedore/manifest-oci";
import { InvalidManifestError, SizeLimits, type Digest } from "@stevedore/types";

const f = go.field;

/** image-spec `ImageConfig`. */
export const OCI_IMAGE_CONFIG_TYPE: GoType = go.struct(
  f("User", go.string, true),
  f("ExposedPorts", go.map(go.empty), true),
  f("Env", go.slice(go.string), true),
  f("Entrypoint", go.slice(go.string), true),
  f("Cmd", go.slice(go.string), true),
  f("Volumes", go.map(go.empty), true),
  f("WorkingDir", go.string, true),
  f("Labels", go.map(go.string), true),
  f("StopSignal", go.string, true),
  f("ArgsEscaped", go.bool, true),
);

/** image-spec `History`. */
export const OCI_HISTORY_TYPE: GoType = go.struct(
  f("created", go.ptr(go.time), true),
  f("created_by", go.string, true),
  f("author", go.string, true),
  f("comment", go.string, true),
  f("empty_layer", go.bool, true),
);

/** image-spec `Image` (the OCI image configuration). */
export const OCI_IMAGE_TYPE: GoType = go.struct(
  f("created", go.ptr(go.time), true),
  f("author", go.string, true),
  f("architecture", go.string),
  f("variant", go.string, true),
  f("os", go.string),
  f("os.version", go.string, true),
  f("os.features", go.slice(go.string), true),
  f("config", OCI_IMAGE_CONFIG_TYPE),
  f("rootfs", go.struct(f("type", go.string), f("diff_ids", go.slice(go.string)))),
  f("history", go.slice(OCI_HISTORY_TYPE), true),
);

/** Docker's container `Config` (as the Go library's `Schema2Config`). */
export const SCHEMA2_CONFIG_TYPE: GoType = go.struct(
  f("Hostname", go.string),
  f("Domainname", go.string),
  f("User", go.string),
  f("AttachStdin", go.bool),
  f("AttachStdout", go.bool),
  f("AttachStderr", go.bool),
  f("ExposedPorts", go.map(go.empty), true),
  f("Tty", go.bool),
  f("OpenStdin", go.bool),
  f("StdinOnce", go.bool),
  f("Env", go.slice(go.string)),
  f("Cmd", go.strslice),
  f(
    "Healthcheck",
    go.ptr(
      go.struct(
        f("Test", go.slice(go.string), true),
        f("StartPeriod", go.int, true),
        f("Interval", go.int, true),
        f("Timeout", go.int, true),
        f("Retries", go.int, true),
      ),
    ),
    true,
  ),
  f("ArgsEscaped", go.bool, true),
  f("Image", go.string),
  f("Volumes", go.map(go.empty)),
  f("WorkingDir", go.string),
  f("Entrypoint", go.strslice),
  f("NetworkDisabled", go.bool, true),
  f("MacAddress", go.string, true),
  f("OnBuild", go.slice(go.string)),
  f("Labels", go.map(go.string)),
  f("StopSignal", go.string, true),
  f("StopTimeout", go.ptr(go.int), true),
  f("Shell", go.strslice, true),
);

const V1_IMAGE_FIELDS = [
  f("id", go.string, true),
  f("parent", go.string, true),
  f("comment", go.string, true),
  f("created", go.time),
  f("container", go.string, true),
  f("container_config", SCHEMA2_CONFIG_TYPE),
  f("docker_version", go.string, true),
  f("author", go.string, true),
  f("config", go.ptr(SCHEMA2_CONFIG_TYPE), true),
  f("architecture", go.string, true),
  f("variant", go.string, true),
  f("os", go.string, true),
  f("Size", go.int, true),
];

/** Docker's v1 image JSON (`Schema2V1Image`). */
export const SCHEMA2_V1_IMAGE_TYPE: GoType = go.struct(...V1_IMAGE_FIELDS);

/** `Schema2History`. */
export const SCHEMA2_HISTORY_TYPE: GoType = go.struct(
  f("created", go.time),
  f("author", go.string, true),
  f("created_by", go.string, true),
  f("comment", go.string, true),
  f("empty_layer", go.bool, true),
);

/** Docker's image configuration (`Schema2Image`), for reading. */
export const SCHEMA2_IMAGE_TYPE: GoType = go.struct(
  ...V1_IMAGE_FIELDS,
  f("rootfs", go.ptr(go.struct(f("type", go.string), f("diff_ids", go.slice(go.string), true))), true),
  f("history", go.slice(SCHEMA2_HISTORY_TYPE), true),
  f("os.version", go.string, true),
  f("os.features", go.slice(go.string), true),
);

/** A decoded Go struct. */
export type GoStruct = { [field: string]: GoValue };

function parseConfigDocument(bytes: Uint8Array | string, what: string): JSONDocument {
  return parseJSONDocument(bytes, { what, maxSize: SizeLimits.config });
}

/**
 * Decodes an image configuration with Go's `json.Unmarshal` semantics into
 * `type`. Throws `InvalidManifestError` (naming `what`) where Go would fail.
 */
export function decodeConfig(bytes: Uint8Array | string, type: GoType, what = "image config"): GoStruct {
  const doc = parseConfigDocument(bytes, what);
  try {
    return goDecode(doc, doc.root, type) as GoStruct;
  } catch (e) {
    if (e instanceof GoDecodeError) throw new InvalidManifestError(`invalid ${what}: ${e.message}`, { cause: e });
    throw e;
  }
}

/**
 * The OCI image config the Go library makes of a Docker config when it
 * converts schema 2 to OCI: the config read into image-spec's `Image` and
 * written back, so that Docker-only fields are dropped.
 */
export function ociConfigFromDockerConfig(configBytes: Uint8Array): Uint8Array {
  return jsonBytes(goEncode(OCI_IMAGE_TYPE, decodeConfig(configBytes, OCI_IMAGE_TYPE, "image config")));
}

/** A JSON object's members as Go's `map[string]json.RawMessage` holds them: last duplicate wins. */
function rawMembers(doc: JSONDocument, what: string): Map<string, JSONNode> {
  if (doc.root.kind !== "object") throw new InvalidManifestError(`invalid ${what}: must be a JSON object`);
  const m = new Map<string, JSONNode>();
  for (const [k, v] of doc.root.entries) m.set(k, v);
  return m;
}

function encodeRawMap(doc: JSONDocument, members: Map<string, JSONNode | string>): string {
  const keys = [...members.keys()].sort(compareCodePoints);
  return `{${keys
    .map((k) => {
      const v = members.get(k) as JSONNode | string;
      return `${goQuote(k)}:${typeof v === "string" ? v : goCompactNode(doc, v)}`;
    })
    .join(",")}}`;
}

/** Docker's version comparison: dotted numeric components, non-numbers count as 0. */
function dockerVersionLess(a: string, b: string): boolean {
  const x = a.split(".");
  const y = b.split(".");
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = i < x.length ? atoi(x[i] as string) : 0;
    const q = i < y.length ? atoi(y[i] as string) : 0;
    if (p !== q) return p < q;
  }
  return false;
}

function atoi(s: string): number {
  return /^[+-]?\d+$/.test(s) ? Number(s) : 0;
}

/**
 * The Docker config the Go library synthesises when converting schema 1 to
 * schema 2: the top history entry's v1 JSON without `id`, `parent`,
 * `parent_id`, `layer_id`, `throwaway` and `Size`, with `rootfs` (the
 * non-empty layers' `diffIDs`) and `history` (one entry per schema 1 layer,
 * base first) added; members sorted as Go writes a map.
 */
export function schema2ConfigFromSchema1(m: Schema1Manifest, diffIDs: readonly Digest[]): Uint8Array {
  const what = "schema 1 history[0].v1Compatibility";
  let text = (m.history[0] as { v1Compatibility: string }).v1Compatibility;
  const v1 = decodeConfig(text, SCHEMA2_V1_IMAGE_TYPE, what);
  const dockerVersion = v1.docker_version as string;
  if (dockerVersion !== "" && dockerVersionLess(dockerVersion, "1.8.3")) {
    // Docker before 1.8.3 left out fields the Go library's struct always writes.
    text = goEncode(SCHEMA2_V1_IMAGE_TYPE, v1);
  }
  const doc = parseConfigDocument(text, what);
  const members: Map<string, JSONNode | string> = rawMembers(doc, what);
  for (const k of ["id", "parent", "parent_id", "layer_id", "throwaway", "Size"]) members.delete(k);
  const history: string[] = [];
  for (const c of m.v1Compatibility) {
    history.unshift(
      goObject([
        ["created", goQuote(c.created)],
        ["author", c.author ? goQuote(c.author) : undefined],
        ["created_by", (c.cmd ?? []).join(" ") ? goQuote((c.cmd ?? []).join(" ")) : undefined],
        ["comment", c.comment ? goQuote(c.comment) : undefined],
        ["empty_layer", c.throwAway ? "true" : undefined],
      ]),
    );
  }
  members.set("rootfs", goObject([["type", goQuote("layers")], ["diff_ids", diffIDs.length > 0 ? goArray(diffIDs, goQuote) : undefined]]));
  members.set("history", `[${history.join(",")}]`);
  return jsonBytes(encodeRawMap(doc, members));
}

/**
 * The v1 JSON of a schema 1 manifest's top layer, made from a schema 2
 * config as the Go library does: the config without `rootfs` and `history`,
 * plus `id`, `parent` (when there is one) and `throwaway` (when the top
 * history entry is empty), members sorted.
 */
export function v1ConfigFromConfigJSON(configBytes: Uint8Array, v1ID: string, parentV1ID: string, throwaway: boolean): string {
  const doc = parseConfigDocument(configBytes, "image config");
  const members: Map<string, JSONNode | string> = rawMembers(doc, "image config");
  members.delete("rootfs");
  members.delete("history");
  members.set("id", goQuote(v1ID));
  if (parentV1ID !== "") members.set("parent", goQuote(parentV1ID));
  if (throwaway) members.set("throwaway", "true");
  return encodeRawMap(doc, members);
}
