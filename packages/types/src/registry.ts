import { InvalidReferenceError, UnknownTransportError } from "./errors.js";
import type { ImageReference, ImageTransport } from "./reference.js";

/** A set of transports, able to parse `transport:reference` strings. */
export interface TransportRegistry {
  /** The transport with `name`, or undefined. */
  get(name: string): ImageTransport | undefined;
  /** Names of the registered transports, sorted. */
  listTransports(): string[];
  /**
   * Parses `transport:reference`, split at the first colon. An unknown
   * transport throws `UnknownTransportError` listing the known names.
   */
  parseImageName(imageName: string): ImageReference;
}

/** `transport:stringWithinTransport` of a reference. */
export function imageName(ref: ImageReference): string {
  return `${ref.transport.name}:${ref.stringWithinTransport()}`;
}

/** Splits `transport:rest` at the first colon. */
export function splitImageName(imageName: string): { transport: string; rest: string } {
  const i = imageName.indexOf(":");
  if (i <= 0) {
    throw new InvalidReferenceError(
      `invalid image name "${imageName}": expected "transport:reference", e.g. "docker://quay.io/org/image:tag" or "oci:./layout:tag"`,
    );
  }
  return { transport: imageName.slice(0, i), rest: imageName.slice(i + 1) };
}

/**
 * Builds an explicit registry from transport values (nothing global, nothing
 * registered on import). Two transports with one name is an error.
 */
export function createTransportRegistry(transports: readonly ImageTransport[]): TransportRegistry {
  const byName = new Map<string, ImageTransport>();
  for (const t of transports) {
    if (byName.has(t.name)) throw new TypeError(`two transports named "${t.name}"`);
    byName.set(t.name, t);
  }
  const names = [...byName.keys()].sort();
  return Object.freeze({
    get: (name: string) => byName.get(name),
    listTransports: () => [...names],
    parseImageName(s: string): ImageReference {
      const { transport, rest } = splitImageName(s);
      const t = byName.get(transport);
      if (!t) throw new UnknownTransportError(transport, names);
      return t.parseReference(rest);
    },
  });
}
