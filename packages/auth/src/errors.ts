import { StevedoreError, type StevedoreErrorOptions } from "@stevedore/types";

/**
 * A `docker-credential-<name>` helper failed: it exited with an error other
 * than "credentials not found", was killed, or printed something that is not
 * the JSON the protocol requires. The message never contains a secret.
 */
export class CredentialHelperError extends StevedoreError {
  static override readonly code: string = "ERR_CREDENTIAL_HELPER";
  /** The helper's name (the part after `docker-credential-`). */
  readonly helper: string;
  /** The action that failed: `get`, `store` or `erase`. */
  readonly action: string;

  constructor(helper: string, action: string, problem: string, options?: StevedoreErrorOptions) {
    super(`credential helper docker-credential-${helper} ${action}: ${problem}`, options);
    this.helper = helper;
    this.action = action;
  }
}
