/**
 * `docker://` references: a normalised docker reference with exactly one of
 * a tag and a digest.
 *
 * @module
 */
import {
  familiarString,
  isDigested,
  isNameOnly,
  isTagged,
  parseNormalizedNamed,
  tagNameOnly,
  domain as domainOf,
  path as pathOf,
  type Named,
} from "@stevedore/reference";
import { InvalidReferenceError, type DockerReference, type ImageReference, type ImageTransport, type IoOptions, type SystemContext } from "@stevedore/types";
import { openDestination, type DockerImageDestination } from "./destination.js";
import { deleteImage } from "./operations.js";
import type { ResolvedTransportOptions } from "./options.js";
import { openSource, type DockerImageSource } from "./source.js";

/**
 * The policy namespaces of a docker reference, most specific first, as
 * containers/image computes them: the repository and each parent
 * namespace up to the registry host (`docker.io/library/busybox`,
 * `docker.io/library`, `docker.io`), then the host without its port as
 * `*.domain` wildcards (`*.example.com`, `*.com`).
 */
export function dockerReferenceNamespaces(ref: DockerReference): string[] {
  const res: string[] = [];
  let name = ref.name;
  for (;;) {
    res.push(name);
    const slash = name.lastIndexOf("/");
    if (slash === -1) break;
    name = name.slice(0, slash);
  }
  // `name` is now the host[:port].
  const colon = name.indexOf(":");
  if (colon !== -1) name = name.slice(0, colon);
  for (;;) {
    const dot = name.indexOf(".");
    if (dot === -1) break;
    name = name.slice(dot + 1);
    res.push(`*.${name}`);
  }
  return res;
}

/** A reference in the `docker` transport: `docker://host/repo:tag` or `docker://host/repo@digest`. */
export class DockerImageReference implements ImageReference {
  /** The transport this reference belongs to. */
  readonly transport: ImageTransport;
  /** The normalised docker reference (a tag or a digest, never both, never neither). */
  readonly ref: Named;
  /** @internal the transport instance's options. */
  readonly options: ResolvedTransportOptions;

  /** Use {@link newDockerImageReference} or the transport's `parseReference`. */
  constructor(transport: ImageTransport, ref: Named, options: ResolvedTransportOptions) {
    if (isNameOnly(ref)) throw new InvalidReferenceError(`docker reference ${ref.toString()} has neither a tag nor a digest`);
    if (isTagged(ref) && isDigested(ref)) {
      throw new InvalidReferenceError(
        `docker reference ${ref.toString()} has both a tag and a digest, which the docker transport does not support; use only the digest`,
      );
    }
    this.transport = transport;
    this.ref = ref;
    this.options = options;
    Object.freeze(this);
  }

  /** The registry as the reference names it (`docker.io`, `localhost:5000`). */
  get domain(): string {
    return domainOf(this.ref);
  }

  /** The repository path within the registry (`library/busybox`). */
  get repository(): string {
    return pathOf(this.ref);
  }

  /** The tag, or the digest, as it appears in API paths. */
  get tagOrDigest(): string {
    return this.ref.digest ?? this.ref.tag ?? "latest";
  }

  /** `//` and the familiar form, e.g. `//busybox:latest`. */
  stringWithinTransport(): string {
    return `//${familiarString(this.ref)}`;
  }

  /** The docker reference itself. */
  dockerReference(): DockerReference {
    return this.ref;
  }

  /** `name:tag` or `name@digest`, fully qualified. */
  policyConfigurationIdentity(): string {
    return this.ref.toString();
  }

  /** See {@link dockerReferenceNamespaces}. */
  policyConfigurationNamespaces(): string[] {
    return dockerReferenceNamespaces(this.ref);
  }

  /** Opens the image for reading, trying registries.conf mirrors first. */
  newImageSource(ctx: SystemContext = {}, options: IoOptions = {}): Promise<DockerImageSource> {
    return openSource(this, ctx, options);
  }

  /** Opens the repository for writing. */
  newImageDestination(ctx: SystemContext = {}, options: IoOptions = {}): Promise<DockerImageDestination> {
    return openDestination(this, ctx, options);
  }

  /** Deletes the manifest the reference names (by its digest) from the registry. */
  deleteImage(ctx: SystemContext = {}, options: IoOptions = {}): Promise<void> {
    return deleteImage(this, ctx, options);
  }

  /** `docker://` and the familiar form. */
  toString(): string {
    return `docker:${this.stringWithinTransport()}`;
  }
}

/**
 * Parses the text after `docker:`: it must start with `//`, then a docker
 * reference normalised as the docker CLI does (`busybox` →
 * `docker.io/library/busybox`), with `:latest` added to a bare name.
 */
export function parseDockerReferenceText(s: string): Named {
  if (typeof s !== "string" || !s.startsWith("//")) {
    throw new InvalidReferenceError(`docker: image reference ${JSON.stringify(s)} does not start with "//" (write docker://host/repository:tag)`);
  }
  const named = parseNormalizedNamed(s.slice(2));
  return tagNameOnly(named);
}
