import {
  goArray,
  goIndent,
  goObject,
  goQuote,
  goStringMap,
  type GoValue,
} from "@stevedore/manifest-oci";
import { digestOf, DigestMismatchError, InternalError, UnsupportedManifestTypeError, type Digest } from "@stevedore/types";
import { decodeConfig, OCI_IMAGE_TYPE, SCHEMA2_IMAGE_TYPE, SCHEMA2_V1_IMAGE_TYPE, type GoStruct } from "./config.js";
import { requireImage, type ImageManifestView, type ManifestView } from "./view.js";

/** One entry of `LayersData`. */
export interface InspectLayer {
  MIMEType: string;
  Digest: Digest;
  /** −1 for schema 1. */
  Size: number;
  Annotations: Record<string, string> | null;
}

/**
 * What `skopeo inspect` prints for an image, with its key names and casing.
 * `Name`, `Tag` and `Variant` are left out when empty, as skopeo does.
 */
export interface InspectInfo {
  Name?: string;
  /** Schema 1 only: the embedded tag. */
  Tag?: string;
  Digest: Digest;
  RepoTags: string[];
  /** RFC 3339, as Go writes it; null when the config has none (OCI). */
  Created: string | null;
  DockerVersion: string;
  Labels: Record<string, string> | null;
  Architecture: string;
  Variant?: string;
  Os: string;
  Layers: Digest[];
  LayersData: InspectLayer[];
  Env: string[] | null;
  Author: string;
}

/** Options of {@link inspectInfo}. */
export interface InspectOptions {
  /** The image's reference; its `name` becomes `Name` (skopeo: the docker reference's name). */
  reference?: { readonly name: string };
  /** The repository's tags (`RepoTags`); default none. */
  tags?: readonly string[];
}

function mapToRecord(v: GoValue): Record<string, string> | null {
  if (!(v instanceof Map)) return null;
  const out: Record<string, string> = {};
  for (const [k, x] of v) out[k] = x as string;
  return out;
}

function checkedConfig(view: ImageManifestView, configBytes: Uint8Array | undefined): Uint8Array {
  const c = view.config;
  if (c === undefined) throw new InternalError("an image manifest without a config descriptor");
  if (configBytes === undefined) throw new InternalError(`inspecting ${view.mimeType} needs the image config (configBytes)`);
  const actual = digestOf(configBytes, c.digest.slice(0, c.digest.indexOf(":")) as "sha256");
  if (actual !== c.digest) throw new DigestMismatchError("image config", c.digest, actual);
  return configBytes;
}

/**
 * The fields of `skopeo inspect` for an image manifest and its config
 * (schema 1 needs none: its config is in its history). The config is read
 * with the Go library's rules: a field of the wrong type fails with
 * `InvalidManifestError`, as skopeo fails. Throws `NotAnImageError` for an
 * OCI artifact and `UnsupportedManifestTypeError` for a list (choose an
 * instance first).
 */
export function inspectInfo(view: ManifestView, configBytes: Uint8Array | undefined, options: InspectOptions = {}): InspectInfo {
  if (view.kind !== "image") throw new UnsupportedManifestTypeError(`cannot inspect a ${view.mimeType} list; choose one of its instances first`);
  requireImage(view, "inspect");
  const layers = view.layers.map((l) => l.digest);
  const layersData = view.layers.map((l): InspectLayer => ({ MIMEType: l.mediaType, Digest: l.digest, Size: l.size, Annotations: l.annotations ? { ...l.annotations } : null }));
  let fields: Omit<InspectInfo, "Digest" | "RepoTags" | "Layers" | "LayersData" | "Name">;
  switch (view.format.type) {
    case "oci": {
      const bytes = checkedConfig(view, configBytes);
      const v1 = decodeConfig(bytes, OCI_IMAGE_TYPE);
      const d1 = decodeConfig(bytes, SCHEMA2_V1_IMAGE_TYPE);
      const cfg = v1.config as GoStruct;
      fields = {
        Created: v1.created as string | null,
        DockerVersion: d1.docker_version as string,
        Labels: mapToRecord(cfg.Labels as GoValue),
        Architecture: v1.architecture as string,
        Variant: v1.variant as string,
        Os: v1.os as string,
        Env: (cfg.Env as string[] | null) ?? null,
        Author: v1.author as string,
      };
      break;
    }
    case "docker-schema2": {
      const s2 = decodeConfig(checkedConfig(view, configBytes), SCHEMA2_IMAGE_TYPE);
      const cfg = s2.config as GoStruct | null;
      fields = {
        Created: s2.created as string,
        DockerVersion: s2.docker_version as string,
        Labels: cfg ? mapToRecord(cfg.Labels as GoValue) : null,
        Architecture: s2.architecture as string,
        Variant: s2.variant as string,
        Os: s2.os as string,
        Env: cfg ? ((cfg.Env as string[] | null) ?? null) : null,
        Author: s2.author as string,
      };
      break;
    }
    case "docker-schema1": {
      const m = view.format.manifest;
      const s1 = decodeConfig((m.history[0] as { v1Compatibility: string }).v1Compatibility, SCHEMA2_V1_IMAGE_TYPE, "schema 1 history[0].v1Compatibility");
      const cfg = s1.config as GoStruct | null;
      fields = {
        Tag: m.tag,
        Created: s1.created as string,
        DockerVersion: s1.docker_version as string,
        Labels: cfg ? mapToRecord(cfg.Labels as GoValue) : null,
        Architecture: s1.architecture as string,
        Variant: s1.variant as string,
        Os: s1.os as string,
        Env: cfg ? ((cfg.Env as string[] | null) ?? null) : null,
        Author: s1.author as string,
      };
      break;
    }
  }
  const info: InspectInfo = {
    ...(options.reference?.name ? { Name: options.reference.name } : {}),
    ...(fields.Tag ? { Tag: fields.Tag } : {}),
    Digest: view.digest,
    RepoTags: [...(options.tags ?? [])],
    Created: fields.Created,
    DockerVersion: fields.DockerVersion,
    Labels: fields.Labels,
    Architecture: fields.Architecture,
    ...(fields.Variant ? { Variant: fields.Variant } : {}),
    Os: fields.Os,
    Layers: layers,
    LayersData: layersData,
    Env: fields.Env,
    Author: fields.Author,
  };
  return info;
}

const nullable = <T>(v: T | null | undefined, enc: (x: T) => string): string => (v === null || v === undefined ? "null" : enc(v));

/**
 * `skopeo inspect`'s output text for `info`: Go's `json.MarshalIndent` with
 * four spaces, keys in skopeo's order, maps sorted, `<`, `>`, `&` escaped
 * (no trailing newline).
 */
export function formatInspectJSON(info: InspectInfo): string {
  const compact = goObject([
    ["Name", info.Name ? goQuote(info.Name) : undefined],
    ["Tag", info.Tag ? goQuote(info.Tag) : undefined],
    ["Digest", goQuote(info.Digest)],
    ["RepoTags", goArray(info.RepoTags, goQuote)],
    ["Created", nullable(info.Created, goQuote)],
    ["DockerVersion", goQuote(info.DockerVersion)],
    ["Labels", nullable(info.Labels, goStringMap)],
    ["Architecture", goQuote(info.Architecture)],
    ["Variant", info.Variant ? goQuote(info.Variant) : undefined],
    ["Os", goQuote(info.Os)],
    ["Layers", goArray(info.Layers, goQuote)],
    [
      "LayersData",
      goArray(info.LayersData, (l) =>
        goObject([
          ["MIMEType", goQuote(l.MIMEType)],
          ["Digest", goQuote(l.Digest)],
          ["Size", String(l.Size)],
          ["Annotations", nullable(l.Annotations, goStringMap)],
        ]),
      ),
    ],
    ["Env", nullable(info.Env, (e) => goArray(e, goQuote))],
    ["Author", goQuote(info.Author)],
  ]);
  return goIndent(compact, "    ");
}
