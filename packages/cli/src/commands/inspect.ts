import { openImage, wantedPlatformOf } from "@stevedore/image";
import { formatInspectJSON, manifestDigest, parseRawManifest } from "@stevedore/manifest";
import type { ImageReference, SystemContext } from "@stevedore/types";
import { UsageError } from "../args.js";
import type { Command } from "../command.js";
import { commonOptions, contextFromFlags, sideOptions } from "../flags.js";
import { parseImage } from "../runtime.js";
import { renderTemplate } from "../template.js";

/** skopeo prints JSON with four-space indentation. */
export function printJSON(value: unknown): string {
  return JSON.stringify(value, null, 4) + "\n";
}

/** The tags of the image's repository, for the docker transport; [] elsewhere. */
export async function repositoryTags(ref: ImageReference, sys: SystemContext, signal: AbortSignal): Promise<string[]> {
  if (ref.transport.name !== "docker") return [];
  const { listTags } = await import("@stevedore/transport-docker");
  return listTags(ref, sys, { signal });
}

export const inspectCommand: Command = {
  name: "inspect",
  summary: "show an image's manifest, config and tags without pulling it",
  usage: "stevedore inspect [flags] IMAGE",
  description: [
    "Prints, as JSON, what skopeo inspect prints: name, digest, tags of the repository, creation time,",
    "architecture, OS, layers, labels and environment. For a manifest list, the image for this machine",
    "(or --override-arch/--override-os) is described; Digest is the list's.",
    "",
    "Examples:",
    "  stevedore inspect docker://registry.example/app:1.0",
    "  stevedore inspect --raw oci:./layout:tag",
    "  stevedore inspect --format '{{.Digest}}' docker://registry.example/app:1.0",
  ].join("\n"),
  options: [
    { name: "raw", type: "boolean", help: "print the manifest (or, with --config, the config) exactly as stored" },
    { name: "config", type: "boolean", help: "print the image's config instead" },
    { name: "format", short: "f", type: "string", arg: "TEMPLATE", help: "format the output with a Go template ({{.Digest}}, {{json .Labels}}, ...)" },
    { name: "no-tags", short: "n", type: "boolean", help: "do not list the repository's tags" },
    ...sideOptions("", "image"),
    ...commonOptions,
  ],
  async run(ctx) {
    const v = ctx.values;
    if (ctx.positionals.length !== 1) throw new UsageError("inspect needs exactly one argument: IMAGE");
    const format = typeof v.format === "string" ? v.format : undefined;
    if (format !== undefined && v.raw === true) throw new UsageError("--format cannot be used with --raw");
    const sys = contextFromFlags(ctx, "");
    const ref = await parseImage(ctx, ctx.positionals[0]!);
    const signal = ctx.io.signal;
    const src = await ref.newImageSource(sys, { signal });
    try {
      const top = await src.getManifest(undefined, { signal });
      if (v.raw === true && v.config !== true) {
        ctx.io.stdout(new TextDecoder().decode(top.bytes));
        return 0;
      }
      const { runtimePlatform } = await import("@stevedore/copy");
      const img = await openImage(src, { signal, platform: wantedPlatformOf(sys, runtimePlatform()) });
      if (v.config === true) {
        const cfg = await img.configBlob({ signal });
        if (!cfg) throw new UsageError("this image (schema 1) has no config blob");
        const text = new TextDecoder().decode(cfg);
        if (v.raw === true) ctx.io.stdout(text);
        else if (format !== undefined) ctx.io.stdout(renderTemplate(format, JSON.parse(text)) + "\n");
        else ctx.io.stdout(printJSON(JSON.parse(text)));
        return 0;
      }
      const tags = v["no-tags"] === true ? [] : await repositoryTags(ref, sys, signal);
      const info = await img.inspect({ signal, tags });
      // Digest is the top-level manifest's, as skopeo reports it.
      const out = { ...info, Digest: manifestDigest(parseRawManifest(top).bytes) };
      const text = format !== undefined ? renderTemplate(format, out) : formatInspectJSON(out);
      ctx.io.stdout(text.endsWith("\n") ? text : text + "\n");
      return 0;
    } finally {
      await src.close();
    }
  },
};
