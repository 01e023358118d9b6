import { UsageError } from "../args.js";
import type { Command } from "../command.js";
import { commonOptions, contextFromFlags, sideOptions } from "../flags.js";
import { parseImage } from "../runtime.js";
import { printJSON, repositoryTags } from "./inspect.js";

export const listTagsCommand: Command = {
  name: "list-tags",
  summary: "list the tags of a repository",
  usage: "stevedore list-tags [flags] docker://REGISTRY/REPOSITORY",
  description: "Prints {\"Repository\": ..., \"Tags\": [...]} as skopeo does. The reference must not have a tag or digest.",
  options: [...sideOptions("", "registry"), ...commonOptions],
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError("list-tags needs exactly one argument: docker://REGISTRY/REPOSITORY");
    const name = ctx.positionals[0]!;
    if (!name.startsWith("docker:")) throw new UsageError(`list-tags: only docker:// repositories can be listed, not "${name}"`);
    if (/@|:[^/]*$/.test(name.slice("docker://".length).replace(/^[^/]*\//, ""))) {
      throw new UsageError(`list-tags: "${name}" names a tag or digest; give only the repository`);
    }
    const sys = contextFromFlags(ctx, "");
    const ref = await parseImage(ctx, name);
    const tags = await repositoryTags(ref, sys, ctx.io.signal);
    ctx.io.stdout(printJSON({ Repository: ref.dockerReference()?.name ?? name, Tags: tags }));
    return 0;
  },
};

export const deleteCommand: Command = {
  name: "delete",
  summary: "delete an image from a registry",
  usage: "stevedore delete [flags] docker://REGISTRY/REPOSITORY[:TAG|@DIGEST]",
  description: "Deletes the manifest the reference resolves to (by digest: every tag pointing to it goes too).",
  options: [...sideOptions("", "registry"), ...commonOptions],
  async run(ctx) {
    if (ctx.positionals.length !== 1) throw new UsageError("delete needs exactly one argument: IMAGE");
    const sys = contextFromFlags(ctx, "");
    const ref = await parseImage(ctx, ctx.positionals[0]!);
    await ref.deleteImage(sys, { signal: ctx.io.signal });
    return 0;
  },
};
