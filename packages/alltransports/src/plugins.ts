import { InvalidTransportPluginError, TRANSPORT_API_VERSION, type ImageTransport } from "@stevedore/types";

function isTransport(v: unknown): v is ImageTransport {
  if (typeof v !== "object" || v === null) return false;
  const t = v as Partial<ImageTransport>;
  return typeof t.name === "string" && typeof t.parseReference === "function" && typeof t.validatePolicyConfigurationScope === "function";
}

/**
 * Loads a third-party transport from a module specifier (a package name such
 * as `stevedore-transport-foo`, or a file URL/path). The module's default
 * export (or its named export `transport`) must be an `ImageTransport` made
 * for this contract version; otherwise the error names the specifier and
 * what is wrong.
 */
export async function loadTransportPlugin(specifier: string, importer: (s: string) => Promise<unknown> = (s) => import(s)): Promise<ImageTransport> {
  let mod: unknown;
  try {
    mod = await importer(specifier);
  } catch (e) {
    throw new InvalidTransportPluginError(`cannot load transport plugin "${specifier}": ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const m = mod as { default?: unknown; transport?: unknown };
  const candidate = isTransport(m.default) ? m.default : isTransport(m.transport) ? m.transport : undefined;
  if (!candidate) {
    throw new InvalidTransportPluginError(
      `transport plugin "${specifier}" does not export an ImageTransport as its default export or as "transport" (an object with name, parseReference and validatePolicyConfigurationScope, made with defineTransport from @stevedore/types)`,
    );
  }
  if (candidate.apiVersion !== TRANSPORT_API_VERSION) {
    throw new InvalidTransportPluginError(
      `transport plugin "${specifier}" implements transport API version ${String(candidate.apiVersion)}, but this Stevedore needs version ${TRANSPORT_API_VERSION}`,
    );
  }
  if (!/^[a-z][a-z0-9-]*$/.test(candidate.name)) {
    throw new InvalidTransportPluginError(`transport plugin "${specifier}" has an invalid name "${candidate.name}"`);
  }
  return candidate;
}
