import { ImageNotFoundError, type Platform } from "@stevedore/types";
import type { ListManifestView, ManifestInstance } from "./view.js";

/** For each architecture with variants: its variants from most to least capable. */
const COMPATIBLE_VARIANTS: Readonly<Record<string, readonly string[]>> = {
  arm: ["v8", "v7", "v6", "v5"],
  arm64: ["v8"],
};

/** The variant every machine of an architecture supports, where there is one. */
const BASE_VARIANTS: Readonly<Record<string, string>> = { arm64: "v8" };

/** The platform wanted by a caller: OS and architecture, optionally a variant. */
export interface WantedPlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/**
 * The platforms an image may have to run on `wanted`, best first, as the Go
 * library's `WantedPlatforms`: with a variant, that variant and the older
 * ones it can run (arm v8 → v7 → v6 → v5), then "no variant"; without a
 * variant, "no variant" then the architecture's base variant (arm64 v8).
 * The caller supplies the runtime's OS, architecture and variant.
 */
export function wantedPlatforms(wanted: WantedPlatform): WantedPlatform[] {
  let variants: string[];
  if (wanted.variant) {
    const order = COMPATIBLE_VARIANTS[wanted.architecture];
    const i = order?.indexOf(wanted.variant) ?? -1;
    variants = order !== undefined && i >= 0 ? order.slice(i) : [wanted.variant];
    variants.push("");
  } else {
    variants = [""];
    const base = BASE_VARIANTS[wanted.architecture];
    if (base !== undefined) variants.push(base);
  }
  return variants.map((v) => ({ os: wanted.os, architecture: wanted.architecture, ...(v ? { variant: v } : {}) }));
}

/** Whether an instance's platform matches a wanted one exactly (OS, architecture, variant). */
export function platformMatches(image: Pick<Platform, "os" | "architecture" | "variant">, wanted: WantedPlatform): boolean {
  return image.os === wanted.os && image.architecture === wanted.architecture && (image.variant ?? "") === (wanted.variant ?? "");
}

/** Options of {@link chooseInstance}. */
export interface ChooseInstanceOptions {
  /** Among equally good instances, prefer gzip ones over zstd ones (default: prefer zstd, as the Go library). */
  preferGzip?: boolean;
}

function describe(p: WantedPlatform): string {
  return `architecture "${p.architecture}", variant "${p.variant ?? ""}", OS "${p.os}"`;
}

function platformString(i: ManifestInstance): string {
  if (i.platform === undefined) return "(no platform)";
  return `${i.platform.os}/${i.platform.architecture}${i.platform.variant ? `/${i.platform.variant}` : ""}`;
}

/**
 * Picks the instance of a list for `wanted` with the Go library's rules:
 * the instance matching the best of {@link wantedPlatforms}; among equals,
 * zstd instances first unless `preferGzip`, then list order. In an OCI index
 * an entry without a platform is a last resort. Throws `ImageNotFoundError`
 * naming the wanted platform and those the list has.
 */
export function chooseInstance(list: ListManifestView, wanted: WantedPlatform, options: ChooseInstanceOptions = {}): ManifestInstance {
  const wantedList = wantedPlatforms(wanted);
  let best: { rank: number; zstd: boolean; pos: number; instance: ManifestInstance } | undefined;
  for (const [pos, instance] of list.instances.entries()) {
    let rank = Number.POSITIVE_INFINITY;
    if (instance.platform !== undefined) {
      rank = wantedList.findIndex((w) => platformMatches(instance.platform as Platform, w));
      if (rank < 0) continue;
    } else if (list.format.type === "docker-list") {
      continue;
    }
    const zstd = instance.compressionAlgorithms.includes("zstd");
    const cand = { rank, zstd, pos, instance };
    if (best === undefined || better(cand, best, options.preferGzip ?? false)) best = cand;
  }
  if (best === undefined) {
    const have = list.instances.map(platformString).join(", ") || "none";
    throw new ImageNotFoundError(`no image found in manifest list for ${describe(wanted)} (the list has: ${have})`);
  }
  return best.instance;
}

function better(a: { rank: number; zstd: boolean; pos: number }, b: { rank: number; zstd: boolean; pos: number }, preferGzip: boolean): boolean {
  if (a.rank !== b.rank) return a.rank < b.rank;
  if (a.zstd !== b.zstd) return preferGzip ? !a.zstd : a.zstd;
  return a.pos < b.pos;
}

/**
 * The instances for several platforms (each chosen as {@link chooseInstance}),
 * without duplicates, in list order. Throws `ImageNotFoundError` when one
 * platform has no instance.
 */
export function chooseInstances(list: ListManifestView, wanted: readonly WantedPlatform[], options: ChooseInstanceOptions = {}): ManifestInstance[] {
  const chosen = new Set<ManifestInstance>();
  for (const w of wanted) chosen.add(chooseInstance(list, w, options));
  return list.instances.filter((i) => chosen.has(i));
}
