import { DestinationExistsError } from "@stevedore/types";

/**
 * The destination directory is not empty and has no `version` file of the
 * dir transport (or a different one): it is not an image directory, and it
 * is left alone rather than overwritten. `instanceof DestinationExistsError`
 * holds.
 */
export class NotImageDirectoryError extends DestinationExistsError {
  static override readonly code: string = "ERR_NOT_IMAGE_DIRECTORY";

  /** The directory that was refused. */
  readonly path: string;

  constructor(path: string, reason: string) {
    super(`${path} is not a containers/image directory (${reason}); refusing to overwrite it: choose an empty or new directory`);
    this.path = path;
  }
}
