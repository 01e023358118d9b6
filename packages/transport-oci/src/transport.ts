import { resolve } from "node:path";
import {
  deleteLayoutImage,
  DirectoryLayoutStore,
  ociPolicyNamespaces,
  openLayoutDestination,
  openLayoutImageSource,
  parseOCIReferenceElements,
  resolvePathToFullyExplicit,
  validateImageName,
  validateOCIScope,
  type ImageSelector,
} from "@stevedore/oci-layout";
import {
  InvalidReferenceError,
  defineTransport,
  type DockerReference,
  type ImageDestination,
  type ImageReference,
  type ImageSource,
  type ImageTransport,
  type IoOptions,
  type SystemContext,
} from "@stevedore/types";

/**
 * The `oci:` transport: images in OCI image layout directories,
 * `oci:path[:image]` (or `oci:path:@N` for the N-th index.json entry, sources
 * only). A value; nothing is registered on import.
 */
export const ociTransport: ImageTransport = defineTransport({
  name: "oci",
  parseReference: (reference: string) => parseOCIReference(reference),
  validatePolicyConfigurationScope: (scope: string) => validateOCIScope(scope),
});

/** Parses the text after `oci:` (`path[:image]` or `path:@N`). Throws `InvalidReferenceError`. */
export function parseOCIReference(reference: string): OCIReference {
  const { path, image, sourceIndex } = parseOCIReferenceElements(reference, "oci");
  return new OCIReference(path, image, sourceIndex);
}

/** An `oci:` reference to an image named `image` ("" for the only image) in layout directory `path`. */
export function newOCIReference(path: string, image = ""): OCIReference {
  return new OCIReference(path, image, undefined);
}

/** An `oci:` reference to the `sourceIndex`-th (zero-based) entry of the layout's index.json; for reading and deleting only. */
export function newOCIIndexReference(path: string, sourceIndex: number): OCIReference {
  return new OCIReference(path, "", sourceIndex);
}

/**
 * A reference to an image in an OCI layout directory. The path's parent
 * must exist when the reference is made; its policy identity is the fully
 * resolved directory (the image name is not part of it, as in
 * containers/image, because `dir:name` and `dir:` may be the same image).
 */
export class OCIReference implements ImageReference {
  readonly transport: ImageTransport = ociTransport;
  /** The layout directory as given. */
  readonly path: string;
  /** The layout directory made absolute (used for every file operation). */
  readonly absolutePath: string;
  /** The directory absolute and with symbolic links resolved (the policy identity). */
  readonly resolvedPath: string;
  /** The `org.opencontainers.image.ref.name`, or "" for none. */
  readonly image: string;
  /** The index.json position (`path:@N`), or undefined. */
  readonly sourceIndex: number | undefined;

  constructor(path: string, image: string, sourceIndex: number | undefined) {
    if (path === "") throw new InvalidReferenceError("invalid oci: reference: the path is empty");
    if (path.includes(":")) throw new InvalidReferenceError(`invalid oci: reference: the path ${JSON.stringify(path)} contains a colon`);
    validateImageName(image);
    if (sourceIndex !== undefined) {
      if (!Number.isSafeInteger(sourceIndex) || sourceIndex < 0) throw new InvalidReferenceError(`invalid oci: reference: source index @${sourceIndex} must be a non-negative integer`);
      if (image !== "") throw new InvalidReferenceError(`invalid oci: reference: cannot use both the image ${JSON.stringify(image)} and the source index @${sourceIndex}`);
    }
    this.path = path;
    this.absolutePath = resolve(path);
    this.resolvedPath = resolvePathToFullyExplicit(path);
    this.image = image;
    this.sourceIndex = sourceIndex;
    Object.freeze(this);
  }

  stringWithinTransport(): string {
    return this.sourceIndex === undefined ? `${this.path}:${this.image}` : `${this.path}:@${this.sourceIndex}`;
  }

  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  policyConfigurationIdentity(): string {
    return this.resolvedPath;
  }

  policyConfigurationNamespaces(): string[] {
    return ociPolicyNamespaces(this.resolvedPath);
  }

  private get selector(): ImageSelector {
    return this.sourceIndex !== undefined ? { sourceIndex: this.sourceIndex } : { name: this.image };
  }

  private get where(): string {
    return `oci:${this.path}`;
  }

  async newImageSource(ctx: SystemContext = {}, options: IoOptions = {}): Promise<ImageSource> {
    return openLayoutImageSource({
      reference: this,
      store: new DirectoryLayoutStore(this.absolutePath, ctx.ociSharedBlobDirPath),
      selector: this.selector,
      where: this.where,
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async newImageDestination(ctx: SystemContext = {}, options: IoOptions = {}): Promise<ImageDestination> {
    if (this.sourceIndex !== undefined) {
      throw new InvalidReferenceError(`oci:${this.stringWithinTransport()}: a destination cannot be an index.json position (@${this.sourceIndex}); name the image instead`);
    }
    return openLayoutDestination({
      reference: this,
      dir: this.absolutePath,
      image: this.image,
      where: `oci:${this.stringWithinTransport()}`,
      ...(ctx.ociSharedBlobDirPath ? { sharedBlobDir: ctx.ociSharedBlobDirPath } : {}),
      ...(ctx.ociAcceptUncompressedLayers ? { acceptUncompressedLayers: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  async deleteImage(ctx: SystemContext = {}, options: IoOptions = {}): Promise<void> {
    await deleteLayoutImage({
      dir: this.absolutePath,
      selector: this.selector,
      where: this.where,
      ...(ctx.ociSharedBlobDirPath ? { sharedBlobDir: ctx.ociSharedBlobDirPath } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
}
