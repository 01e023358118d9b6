/**
 * The `docker` transport descriptor.
 *
 * @module
 */
import type { Named } from "@stevedore/reference";
import { defineTransport, InvalidReferenceError, type DockerReference, type ImageTransport } from "@stevedore/types";
import { parseNormalizedNamed } from "@stevedore/reference";
import { resolveOptions, type DockerTransportOptions, type ResolvedTransportOptions } from "./options.js";
import { DockerImageReference, parseDockerReferenceText } from "./reference.js";
import { closeAllPools } from "./http/undici.js";

/** The transport's name: references are written `docker://…`. */
export const DOCKER_TRANSPORT_NAME = "docker";

/** A docker transport instance with its options; `newReference` makes references without parsing text. */
export interface DockerTransport extends ImageTransport {
  /** Parses the text after `docker:` (it must start with `//`). */
  parseReference(reference: string): DockerImageReference;
  /** A reference for an already-parsed docker reference (a tag or a digest, not both). */
  newReference(ref: DockerReference): DockerImageReference;
  /** The instance's options, defaults applied. */
  readonly options: ResolvedTransportOptions;
}

function toNamed(ref: DockerReference): Named {
  const r = ref as Partial<Named>;
  if (typeof r.domain === "string" && typeof r.path === "string") return ref as Named;
  try {
    return parseNormalizedNamed(ref.toString());
  } catch (e) {
    throw new InvalidReferenceError(`${String(ref)} is not a docker reference`, { cause: e });
  }
}

/**
 * Makes a `docker` transport with `options` (idle timeout, trusted token
 * realms, listing limits). {@link dockerTransport} is one with the defaults.
 * Nothing is registered anywhere; connection pools are shared by every
 * instance of the process.
 */
export function createDockerTransport(options: DockerTransportOptions = {}): DockerTransport {
  const resolved = resolveOptions(options);
  let self: ImageTransport;
  const base = defineTransport({
    name: DOCKER_TRANSPORT_NAME,
    parseReference: (s: string) => new DockerImageReference(self, parseDockerReferenceText(s), resolved),
    // As in containers/image, every string is a valid docker scope.
    validatePolicyConfigurationScope: () => {},
  });
  const transport: DockerTransport = Object.freeze({
    ...base,
    parseReference: (s: string) => base.parseReference(s) as DockerImageReference,
    newReference: (ref: DockerReference) => new DockerImageReference(self, toNamed(ref), resolved),
    options: resolved,
  });
  self = transport;
  return transport;
}

/** The `docker` transport with default options. */
export const dockerTransport: DockerTransport = createDockerTransport();

/**
 * Closes the keep-alive connections every docker transport of the process
 * holds. Idle connections do not keep Node running; call this to release
 * sockets early (tests, a long-lived process after a burst of copies).
 */
export function closeDockerConnections(): Promise<void> {
  return closeAllPools();
}
