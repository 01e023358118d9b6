import {
  UnknownTransportError,
  UnsupportedError,
  createTransportRegistry,
  splitImageName,
  type ImageReference,
  type ImageTransport,
  type TransportRegistry,
} from "@stevedore/types";
import { BUILTIN_TRANSPORTS, UNSUPPORTED_TRANSPORTS } from "./builtin.js";
import { loadTransportPlugin } from "./plugins.js";

/** Options of the functions here. */
export interface AllTransportsOptions {
  /** Module specifiers of third-party transports to load as well. */
  plugins?: readonly string[];
}

const plugins = new Map<string, Promise<ImageTransport>>();

async function pluginTransports(specifiers: readonly string[] = []): Promise<ImageTransport[]> {
  return Promise.all(
    specifiers.map((s) => {
      let p = plugins.get(s);
      if (!p) {
        p = loadTransportPlugin(s);
        plugins.set(s, p);
        p.catch(() => plugins.delete(s));
      }
      return p;
    }),
  );
}

/** The names of the built-in transports, sorted. */
export function listBuiltinTransports(): string[] {
  return Object.keys(BUILTIN_TRANSPORTS).sort();
}

/**
 * The transport named `name`: a plugin's (plugins may not shadow a built-in
 * name), else a built-in one, imported now. An unknown name lists the known
 * ones; a name of containers/image that Stevedore lacks says so.
 */
export async function loadTransport(name: string, options: AllTransportsOptions = {}): Promise<ImageTransport> {
  const fromPlugins = await pluginTransports(options.plugins);
  for (const t of fromPlugins) {
    if (Object.hasOwn(BUILTIN_TRANSPORTS, t.name)) {
      throw new UnsupportedError(`a transport plugin may not replace the built-in transport "${t.name}"`);
    }
  }
  const load = Object.hasOwn(BUILTIN_TRANSPORTS, name) ? BUILTIN_TRANSPORTS[name] : undefined;
  if (load) return load();
  const plugin = fromPlugins.find((t) => t.name === name);
  if (plugin) return plugin;
  if (Object.hasOwn(UNSUPPORTED_TRANSPORTS, name)) throw new UnsupportedError(UNSUPPORTED_TRANSPORTS[name]!);
  throw new UnknownTransportError(name, [...listBuiltinTransports(), ...fromPlugins.map((t) => t.name)].sort());
}

/**
 * Parses `transport:reference` (split at the first colon), loading only the
 * transport it names.
 */
export async function parseImageName(imageName: string, options: AllTransportsOptions = {}): Promise<ImageReference> {
  const { transport } = splitImageName(imageName);
  const t = await loadTransport(transport, options);
  return createTransportRegistry([t]).parseImageName(imageName);
}

/** A registry holding every built-in transport and the given plugins (all loaded). */
export async function createDefaultTransportRegistry(options: AllTransportsOptions = {}): Promise<TransportRegistry> {
  const builtins = await Promise.all(listBuiltinTransports().map((n) => BUILTIN_TRANSPORTS[n]!()));
  return createTransportRegistry([...builtins, ...(await pluginTransports(options.plugins))]);
}
