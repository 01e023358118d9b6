/**
 * The legacy (docker < 1.10) parts of a `docker save` archive that the Go
 * library also writes: one `<id>/` directory per layer with `VERSION`,
 * `json` (a v1 image JSON chained by `parent`) and `layer.tar` (a symlink to
 * the layer file), plus the `repositories` file mapping tags to the top ID.
 */

import { digestHex, digestOf, fromUtf8, utf8, type Digest } from "@stevedore/types";

/** One legacy layer directory to write. */
export interface LegacyLayer {
  /** The v1 ID (64 hex), the directory name. */
  readonly id: string;
  /** The layer's digest (its file is `<hex>.tar`). */
  readonly digest: Digest;
  /** The `json` file's content. */
  readonly json: Uint8Array;
}

/** Config fields copied into the top layer's v1 JSON, as the Go library does. */
const TOP_LAYER_FIELDS = ["architecture", "config", "container", "container_config", "created", "docker_version", "os"] as const;

/** JSON with object keys sorted (as Go's encoding/json writes maps), compact. */
function sortedJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJSON).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${sortedJSON(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

/**
 * The legacy layer directories for an image with these layer digests
 * (base first) and config. IDs are digests of the v1 JSON with the layer's
 * chain ID, so different images and positions never share an ID by accident.
 */
export function legacyLayers(layerDigests: readonly Digest[], configBytes: Uint8Array): LegacyLayer[] {
  let config: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(fromUtf8(configBytes));
    if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) config = parsed as Record<string, unknown>;
  } catch {
    // The config was verified by digest; a config that is not JSON only loses the legacy metadata.
  }
  const out: LegacyLayer[] = [];
  let chainID: Digest | undefined;
  let parent: string | undefined;
  for (const [i, digest] of layerDigests.entries()) {
    const v1: Record<string, unknown> = {};
    if (parent !== undefined) v1.parent = parent;
    if (i === layerDigests.length - 1) {
      for (const k of TOP_LAYER_FIELDS) if (config[k] !== undefined) v1[k] = config[k];
    }
    chainID = chainID === undefined ? digest : digestOf(utf8(`${chainID} ${digest}`));
    const id = digestHex(digestOf(utf8(sortedJSON({ ...v1, layer_id: chainID }))));
    v1.id = id;
    out.push({ id, digest, json: utf8(sortedJSON(v1)) });
    parent = id;
  }
  return out;
}
