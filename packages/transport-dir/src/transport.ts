import { lstatSync, realpathSync } from "node:fs";
import { isAbsolute, join, normalize, posix, resolve } from "node:path";
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
import { openDirDestination } from "./destination.js";
import { openDirSource } from "./source.js";
import { errnoCode } from "./internal/fs.js";

/**
 * A `dir:` reference: a directory that holds one image in containers/image's
 * directory layout (`manifest.json`, blobs named by their digest's hex,
 * `signature-N`, `version`).
 */
export class DirReference implements ImageReference {
  /** The path as the user gave it (relative paths are resolved when the image is opened). */
  readonly path: string;
  /**
   * The absolute path without symbolic links, computed when the reference
   * was parsed; the policy identity.
   */
  readonly resolvedPath: string;

  /** Use {@link newDirReference} or `dirTransport.parseReference`. */
  constructor(path: string, resolvedPath: string) {
    this.path = path;
    this.resolvedPath = resolvedPath;
  }

  /** The `dir` transport. */
  get transport(): ImageTransport {
    return dirTransport;
  }

  /** The path as given. */
  stringWithinTransport(): string {
    return this.path;
  }

  /** A directory has no docker reference. */
  dockerReference(): DockerReference | undefined {
    return undefined;
  }

  /** The resolved absolute path. */
  policyConfigurationIdentity(): string {
    return this.resolvedPath;
  }

  /** Every parent directory of the resolved path, nearest first, without `/`. */
  policyConfigurationNamespaces(): string[] {
    const out: string[] = [];
    let p = this.resolvedPath;
    for (;;) {
      const i = p.lastIndexOf("/");
      if (i <= 0) break;
      p = p.slice(0, i);
      out.push(p);
    }
    return out;
  }

  /** Opens the directory's image for reading. */
  newImageSource(ctx?: SystemContext, options?: IoOptions): Promise<ImageSource> {
    return openDirSource(this, ctx, options);
  }

  /**
   * Opens the directory for writing an image. The directory may be absent
   * (its parent must exist), empty, or hold an image written by this
   * transport (a `version` file); anything else is refused with
   * `NotImageDirectoryError`. The previous image is replaced only by
   * `commit()`.
   */
  newImageDestination(ctx?: SystemContext, options?: IoOptions): Promise<ImageDestination> {
    return openDirDestination(this, ctx, options);
  }

  /** Not supported, as in containers/image. */
  async deleteImage(): Promise<void> {
    throw new UnsupportedError(`deleting images is not supported by the dir: transport (${this.path}); remove the directory instead`);
  }
}

function resolveExisting(path: string): string {
  return normalize(realpathSync.native(resolve(path)));
}

/**
 * The path made absolute, with symbolic links resolved: every component must
 * exist except the last, as containers/image's ResolvePathToFullyExplicit.
 */
export function resolvePathToFullyExplicit(input: string): string {
  let path = input;
  // `dir:///abs` is `/abs`.
  if (path.startsWith("///")) path = path.slice(2);
  // /proc/self/fd/N and friends are "magic links": resolving them makes no sense.
  if (path.startsWith("/proc/")) return path;
  try {
    lstatSync(path);
    return resolveExisting(path);
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
  const cut = path.lastIndexOf("/") + 1;
  const parent = path.slice(0, cut);
  const file = path.slice(cut);
  if (file === "" || file === "." || file === "..") {
    throw new InvalidReferenceError(`dir:${input}: the path does not exist`);
  }
  let resolvedParent: string;
  try {
    resolvedParent = resolveExisting(parent === "" ? "." : parent);
  } catch (e) {
    throw new InvalidReferenceError(`dir:${input}: the parent directory ${JSON.stringify(parent)} does not exist or cannot be resolved; create it first`, { cause: e });
  }
  return join(resolvedParent, file);
}

/** A `dir:` reference to `path` (the parent directory must exist). Throws `InvalidReferenceError`. */
export function newDirReference(path: string): DirReference {
  if (path === "") throw new InvalidReferenceError(`dir: needs a path, e.g. "dir:./image"`);
  if (path.includes("\0")) throw new InvalidReferenceError(`dir:${JSON.stringify(path)}: a path cannot contain NUL`);
  let resolved: string;
  try {
    resolved = resolvePathToFullyExplicit(path);
  } catch (e) {
    if (e instanceof InvalidReferenceError) throw e;
    throw new InvalidReferenceError(`dir:${path}: cannot resolve the path: ${(e as Error).message}`, { cause: e });
  }
  return new DirReference(path, resolved);
}

/**
 * The `dir` transport (`dir:path`): an image as a plain directory, one file
 * per blob, readable and writable, with signatures. Policy scopes are
 * absolute, clean paths other than `/`.
 */
export const dirTransport: ImageTransport = defineTransport({
  name: "dir",
  parseReference: (reference) => newDirReference(reference),
  validatePolicyConfigurationScope(scope) {
    if (!scope.startsWith("/")) throw new InvalidReferenceError(`invalid dir: policy scope ${JSON.stringify(scope)}: it must be an absolute path`);
    if (scope === "/") throw new InvalidReferenceError(`invalid dir: policy scope "/": use the transport's default scope "" instead`);
    const cleaned = posix.normalize(scope).replace(/(.)\/+$/, "$1");
    if (cleaned !== scope || !isAbsolute(scope)) {
      throw new InvalidReferenceError(`invalid dir: policy scope ${JSON.stringify(scope)}: not in canonical form, perhaps ${JSON.stringify(cleaned)}`);
    }
  },
});
