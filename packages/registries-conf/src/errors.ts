import { InvalidConfigurationError, PolicyRejectedError, type StevedoreErrorOptions } from "@stevedore/types";

/**
 * A registries.conf (or short-name-aliases.conf) file is invalid. Carries
 * the file and the offending field (a TOML path such as
 * `registry[2].mirror[0].location`); `instanceof InvalidConfigurationError`
 * holds.
 */
export class RegistriesConfError extends InvalidConfigurationError {
  /** The file (or other source) that holds the problem. */
  readonly source: string;
  /** The TOML path of the offending field, or `""` for the whole file. */
  readonly field: string;

  constructor(source: string, field: string, problem: string, options?: StevedoreErrorOptions) {
    super(`${source}: ${field ? `${field}: ` : ""}${problem}`, options);
    this.source = source;
    this.field = field;
  }
}

/**
 * registries.conf blocks pulls of the image (`blocked = true` on the
 * matching `[[registry]]`). `instanceof PolicyRejectedError` holds.
 */
export class RegistryBlockedError extends PolicyRejectedError {
  static override readonly code: string = "ERR_REGISTRY_BLOCKED";
  /** The prefix of the blocking `[[registry]]` entry. */
  readonly prefix: string;

  constructor(reference: string, prefix: string, options?: StevedoreErrorOptions) {
    super(
      `access to ${reference} is blocked: the registries.conf entry with prefix "${prefix}" sets blocked = true`,
      options,
    );
    this.prefix = prefix;
  }
}
