import { resolve } from "node:path";
import {
  ociPolicyNamespaces,
  openLayoutImageSource,
  parseOCIReferenceElements,
  resolvePathToFullyExplicit,
  validateImageName,
  validateOCIScope,
  type ImageSelector,
} from "@stevedore/oci-layout";
import {
  InvalidReferenceError,
  UnsupportedError,
  defineTransport,
  type DockerReference,
  type ImageDestination,
  type ImageReference,
  type ImageSource,
  type ImageTransport,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";
import { ArchiveLayoutStore } from "./archive-store.js";
import { openArchiveDestination } from "./destination.js";

/**
 * The `oci-archive:` transport: an OCI image layout in a tar file,
 * `oci-archive:file[:image]` (or `oci-archive:file:@N`, sources only).
 * A value; nothing is registered on import.
 */
export const ociArchiveTransport: ImageTransport = defineTransport({
  name: "oci-archive",
  parseReference: (reference: string) => parseOCIArchiveReference(reference),
  validatePolicyConfigurationScope: (scope: string) => validateOCIScope(scope),
});

/** Parses the text after `oci-archive:`. Throws `InvalidReferenceError`. */
export function parseOCIArchiveReference(reference: string): OCIArchiveReference {
  const { path, image, sourceIndex } = parseOCIReferenceElements(reference, "oci-archive");
  return new OCIArchiveReference(path, image, sourceIndex);
}

/** An `oci-archive:` reference to the image named `image` ("" for the only one) in archive `file`. */
export function newOCIArchiveReference(file: string, image = ""): OCIArchiveReference {
  return new OCIArchiveReference(file, image, undefined);
}

/**
 * A reference to an image in an OCI archive (a tar of an OCI layout). The
 * file's parent directory must exist; the policy identity is the fully
 * resolved file path (the image name is not part of it).
 */
export class OCIArchiveReference implements ImageReference {
  readonly transport: ImageTransport = ociArchiveTransport;
  /** The archive path as given. */
  readonly file: string;
  /** The archive path made absolute (used for file operations). */
  readonly absoluteFile: string;
  /** The path absolute with symbolic links resolved (the policy identity). */
  readonly resolvedFile: string;
  /** The `org.opencontainers.image.ref.name`, or "". */
  readonly image: string;
  /** The index.json position (`file:@N`), or undefined. */
  readonly sourceIndex: number | undefined;

  constructor(file: string, image: string, sourceIndex: number | undefined) {
    if (file === "") throw new InvalidReferenceError("invalid oci-archive: reference: the path is empty");
    if (file.includes(":")) throw new InvalidReferenceError(`invalid oci-archive: reference: the path ${JSON.stringify(file)} contains a colon`);
    validateImageName(image);
    if (sourceIndex !== undefined) {
      if (!Number.isSafeInteger(sourceIndex) || sourceIndex < 0) throw new InvalidReferenceError(`invalid oci-archive: reference: source index @${sourceIndex} must be a non-negative integer`);
      if (image !== "") throw new InvalidReferenceError(`invalid oci-archive: reference: cannot use both the image ${JSON.stringify(image)} and the source index @${sourceIndex}`);
    }
    this.file = file;
    this.absoluteFile = resolve(file);
    this.resolvedFile = resolvePathToFullyExplicit(file);
    this.image = image;
    this.sourceIndex = sourceIndex;
    Object.freeze(this);
  }

  stringWithinTransport(): string {
    return this.sourceIndex === undefined ? `${this.file}:${this.image}` : `${this.file}:@${this.sourceIndex}`;
  }

  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  policyConfigurationIdentity(): string {
    return this.resolvedFile;
  }

  policyConfigurationNamespaces(): string[] {
    return ociPolicyNamespaces(this.resolvedFile);
  }

  private get selector(): ImageSelector {
    return this.sourceIndex !== undefined ? { sourceIndex: this.sourceIndex } : { name: this.image };
  }

  async newImageSource(ctx: SystemContext = {}, options: IoOptions = {}): Promise<ImageSource> {
    const where = `oci-archive:${this.file}`;
    const store = await ArchiveLayoutStore.open(this.absoluteFile, ctx, where, options);
    return openLayoutImageSource({ reference: this, store, selector: this.selector, where, ...(options.signal ? { signal: options.signal } : {}) });
  }

  async newImageDestination(ctx: SystemContext = {}, options: IoOptions = {}): Promise<ImageDestination> {
    if (this.sourceIndex !== undefined) {
      throw new InvalidReferenceError(`oci-archive:${this.stringWithinTransport()}: a destination cannot be an index.json position (@${this.sourceIndex}); name the image instead`);
    }
    return openArchiveDestination(ctx, {
      reference: this,
      file: this.absoluteFile,
      image: this.image,
      where: `oci-archive:${this.stringWithinTransport()}`,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async deleteImage(_ctx?: SystemContext, _options?: IoOptions): Promise<void> {
    throw new UnsupportedError(`oci-archive:${this.stringWithinTransport()}: deleting images from an OCI archive is not supported (rewrite the archive instead)`);
  }
}
