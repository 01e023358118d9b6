import { isDigested, isTagged, parseNormalizedNamed, tagNameOnly, type NamedTagged } from "@stevedore/reference";
import {
  InvalidReferenceError,
  UnsupportedError,
  defineTransport,
  type ImageDestination,
  type ImageReference,
  type ImageSource,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";
import { openDockerArchiveDestination } from "./destination.js";
import { openDockerArchiveSource } from "./source.js";

/** The name of the transport: `docker-archive:`. */
export const DOCKER_ARCHIVE_TRANSPORT_NAME = "docker-archive";

/**
 * A `docker-archive:` reference: a `docker save` tar file, and optionally
 * the image in it (by tag or, for reading, by position) or the tag to save
 * the image under.
 */
export class DockerArchiveReference implements ImageReference {
  /** The archive's path as given (no `:` allowed). */
  readonly path: string;
  /** The `name:tag` of the image: which one to read, or the tag to write. Normalised, always tagged. */
  readonly namedTagged: NamedTagged | undefined;
  /** With `:@N`: the zero-based position of the image in the archive's manifest.json (sources only). */
  readonly sourceIndex: number | undefined;

  /**
   * Use {@link dockerArchiveTransport}`.parseReference`, {@link newDockerArchiveReference}
   * or {@link newDockerArchiveIndexReference} instead.
   */
  constructor(path: string, namedTagged: NamedTagged | undefined, sourceIndex: number | undefined) {
    if (path === "") throw new InvalidReferenceError(`invalid docker-archive: reference: the path is empty`);
    if (path.includes(":")) {
      throw new InvalidReferenceError(`invalid docker-archive: reference: a colon in the path "${path}" is not supported`);
    }
    if (namedTagged !== undefined && sourceIndex !== undefined) {
      throw new InvalidReferenceError(`invalid docker-archive: reference "${path}": a tag and a source index cannot be used together`);
    }
    if (namedTagged !== undefined) {
      if (isDigested(namedTagged)) {
        throw new InvalidReferenceError(`docker-archive: does not support digest references: "${String(namedTagged)}"`);
      }
      if (!isTagged(namedTagged)) throw new InvalidReferenceError(`docker-archive: the reference "${String(namedTagged)}" has no tag`);
    }
    if (sourceIndex !== undefined && (!Number.isSafeInteger(sourceIndex) || sourceIndex < 0)) {
      throw new InvalidReferenceError(`invalid docker-archive: reference "${path}": the index @${sourceIndex} must be a non-negative integer`);
    }
    this.path = path;
    this.namedTagged = namedTagged;
    this.sourceIndex = sourceIndex;
    Object.freeze(this);
  }

  /** The `docker-archive` transport. */
  get transport(): typeof dockerArchiveTransport {
    return dockerArchiveTransport;
  }

  /** `path`, `path:name:tag` or `path:@N`; parses back to an equal reference. */
  stringWithinTransport(): string {
    if (this.namedTagged !== undefined) return `${this.path}:${this.namedTagged.toString()}`;
    if (this.sourceIndex !== undefined) return `${this.path}:@${this.sourceIndex}`;
    return this.path;
  }

  /** The tag given in the reference, if any. */
  dockerReference(): NamedTagged | undefined {
    return this.namedTagged;
  }

  /** Always "": archives have no policy identity of their own, only the transport's default scope applies (as in the Go library). */
  policyConfigurationIdentity(): string {
    return "";
  }

  /** Always empty (see {@link policyConfigurationIdentity}). */
  policyConfigurationNamespaces(): string[] {
    return [];
  }

  /**
   * Opens the image for reading: by tag, by index, or the only image of the
   * archive. Compressed archives are decompressed to a temporary file first
   * (under `ctx.bigFilesTemporaryDir`, else the OS temp dir), removed on close.
   */
  newImageSource(ctx?: SystemContext, options?: IoOptions): Promise<ImageSource> {
    return openDockerArchiveSource(this, ctx, options);
  }

  /**
   * Opens a new archive for writing. The target must not exist or be an
   * empty file (or a FIFO / character device, written at commit); the
   * archive appears there only when the destination is committed.
   */
  newImageDestination(ctx?: SystemContext, options?: IoOptions): Promise<ImageDestination> {
    return openDockerArchiveDestination(this, ctx, options);
  }

  /** Not supported: throws {@link UnsupportedError}. */
  async deleteImage(): Promise<void> {
    throw new UnsupportedError(`deleting images is not supported by docker-archive: (refusing to delete "${this.path}"); remove the file instead`);
  }
}

function parseDockerArchiveReference(reference: string): DockerArchiveReference {
  if (reference === "") {
    throw new InvalidReferenceError(`invalid docker-archive: reference "": expected "path[:name:tag]" or "path:@index"`);
  }
  const colon = reference.indexOf(":");
  if (colon < 0) return new DockerArchiveReference(reference, undefined, undefined);
  const path = reference.slice(0, colon);
  const rest = reference.slice(colon + 1);
  if (rest.startsWith("@")) {
    const digits = rest.slice(1);
    if (/^-[0-9]+$/.test(digits)) {
      throw new InvalidReferenceError(`invalid docker-archive: reference "${reference}": the source index ${rest} must not be negative`);
    }
    if (!/^[0-9]+$/.test(digits) || !Number.isSafeInteger(Number(digits))) {
      throw new InvalidReferenceError(`invalid docker-archive: reference "${reference}": the source index "${rest}" is not a number`);
    }
    return new DockerArchiveReference(path, undefined, Number(digits));
  }
  let named;
  try {
    named = parseNormalizedNamed(rest);
  } catch (e) {
    throw new InvalidReferenceError(`invalid docker-archive: reference "${reference}": ${(e as Error).message}`, { cause: e });
  }
  if (isDigested(named)) {
    throw new InvalidReferenceError(`docker-archive: does not support digest references: "${reference}"`);
  }
  return new DockerArchiveReference(path, tagNameOnly(named) as NamedTagged, undefined);
}

/** A `docker-archive:` reference for `path`, optionally with the `name:tag` to read or write (a bare name gets `:latest`). */
export function newDockerArchiveReference(path: string, nameAndTag?: string): DockerArchiveReference {
  if (nameAndTag === undefined) return new DockerArchiveReference(path, undefined, undefined);
  return parseDockerArchiveReference(`${path}:${nameAndTag}`);
}

/** A `docker-archive:` reference to the image at zero-based position `index` of the archive (sources only). */
export function newDockerArchiveIndexReference(path: string, index: number): DockerArchiveReference {
  return new DockerArchiveReference(path, undefined, index);
}

/**
 * The `docker-archive:` transport: `docker save` / `docker load` tar files.
 * References are `path`, `path:name:tag` (read that tag / write with it) or
 * `path:@N` (read the N-th image, from 0). Policy scopes: only the default
 * `""` applies, as in the Go library; every other scope is refused.
 */
export const dockerArchiveTransport = defineTransport({
  name: DOCKER_ARCHIVE_TRANSPORT_NAME,
  parseReference: parseDockerArchiveReference,
  validatePolicyConfigurationScope(scope: string): void {
    throw new InvalidReferenceError(
      `docker-archive: does not support any policy scopes except the default "" one (got ${JSON.stringify(scope)})`,
    );
  },
});
