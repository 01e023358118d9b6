import { statSync } from "node:fs";
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
import { openTarballSource } from "./source.js";

/**
 * A `tarball:` reference: one or more layer tarballs (tar, tar+gzip or
 * tar+zstd files), from which an OCI image is made up when it is read.
 */
export class TarballReference implements ImageReference {
  /** The files, in layer order (bottom first), as given. */
  readonly files: readonly string[];

  /** Use {@link newTarballReference} or `tarballTransport.parseReference`. */
  constructor(files: readonly string[]) {
    this.files = Object.freeze([...files]);
  }

  /** The `tarball` transport. */
  get transport(): ImageTransport {
    return tarballTransport;
  }

  /** The files joined with `:`. */
  stringWithinTransport(): string {
    return this.files.join(":");
  }

  /** None. */
  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  /** "": only the transport's default policy scope applies. */
  policyConfigurationIdentity(): string {
    return "";
  }

  /** None. */
  policyConfigurationNamespaces(): string[] {
    return [];
  }

  /**
   * Reads every file once (streaming: decompressed while hashed, checked to
   * be a tar archive) and makes up the image: an OCI manifest and config with
   * one layer per file. The result is kept on the reference and reused while
   * the files are unchanged, so that it is the same image every time.
   */
  newImageSource(ctx?: SystemContext, options?: IoOptions): Promise<ImageSource> {
    return openTarballSource(this, ctx, options);
  }

  /** Not supported: the transport only reads. */
  async newImageDestination(): Promise<ImageDestination> {
    throw new UnsupportedError(`the tarball transport only reads; tarball:${this.stringWithinTransport()} cannot be written to (write to oci:, dir: or docker-archive: instead)`);
  }

  /** Deletes the files, as containers/image does (missing ones are ignored). */
  /**
   * Refused: the "image" is the user's own layer files, and deleting them
   * (as containers/image does) is more surprising than useful.
   */
  async deleteImage(): Promise<void> {
    throw new UnsupportedError(`tarball: deleting is not supported; the image is made of your files (${this.files.join(", ")}), remove them yourself if you mean to`);
  }
}

/** A `tarball:` reference to `files` (each must exist and be a regular file). Throws `InvalidReferenceError`, or `UnsupportedError` for `-` (stdin). */
export function newTarballReference(files: readonly string[]): TarballReference {
  if (files.length === 0) throw new InvalidReferenceError("tarball: needs at least one file");
  for (const f of files) {
    if (f === "-") throw new UnsupportedError('tarball: reading a layer from standard input ("-") is not supported; save it to a file first');
    if (f === "") throw new InvalidReferenceError(`tarball:${files.join(":")}: empty file name`);
    if (f.includes(":")) throw new InvalidReferenceError(`tarball: file ${JSON.stringify(f)} contains ":", the separator of file names; rename it`);
    let isFile: boolean;
    try {
      isFile = statSync(f).isFile();
    } catch (e) {
      throw new InvalidReferenceError(`tarball: cannot use ${JSON.stringify(f)}: ${(e as Error).message}`, { cause: e });
    }
    if (!isFile) throw new InvalidReferenceError(`tarball: ${JSON.stringify(f)} is not a regular file`);
  }
  return new TarballReference(files);
}

/**
 * The `tarball` transport (`tarball:file1[:file2…]`): an image made up from
 * layer tarballs, read-only, without signatures. No policy scope other than
 * the default "" applies to it.
 */
export const tarballTransport: ImageTransport = defineTransport({
  name: "tarball",
  parseReference: (reference) => newTarballReference(reference.split(":")),
  validatePolicyConfigurationScope(scope) {
    throw new InvalidReferenceError(`invalid tarball: policy scope ${JSON.stringify(scope)}: the tarball transport supports no scope except the default ""`);
  },
});
