/**
 * Setting up a {@link RegistryClient} for a reference: registries.conf
 * (blocked, insecure), credentials, TLS.
 *
 * @module
 */
import { getCredentials } from "@stevedore/auth";
import { domain as domainOf, path as pathOf } from "@stevedore/reference";
import { assertNotBlocked, isInsecure, type RegistriesConfig } from "@stevedore/registries-conf";
import { getRegistriesConfig } from "@stevedore/registries-conf/node";
import type { DockerReference, SystemContext } from "@stevedore/types";
import type { ResolvedTransportOptions } from "../options.js";
import { RegistryClient } from "./client.js";

/** Options of {@link openClient}. */
export interface OpenClientOptions {
  readonly ctx: SystemContext;
  readonly options: ResolvedTransportOptions;
  /** The reference whose registry and repository the client talks to (for a mirror: the rewritten one). */
  readonly ref: DockerReference;
  /** Token actions: `pull`, `pull,push` or `*`. */
  readonly actions: string;
  /** registries.conf, when already loaded. */
  readonly registriesConfig?: RegistriesConfig;
  /** The endpoint is marked insecure (a mirror's `insecure = true`). */
  readonly endpointInsecure?: boolean;
  /**
   * The registry the user named, when `ref` is a mirror of it: explicit
   * credentials (`dockerAuthConfig`, `dockerBearerRegistryToken`) are
   * meant for that registry and are not sent to a mirror on another host.
   */
  readonly logicalDomain?: string;
  /** Check registries.conf `blocked` for `ref` (sources check it while choosing pull sources). */
  readonly checkBlocked?: boolean;
  /** A client for the registry alone (no repository scope; credentials for the host). */
  readonly registryOnly?: boolean;
  readonly signal?: AbortSignal | undefined;
}

/** The registries.conf configuration for a context. */
export function registriesConfigFor(ctx: SystemContext, signal?: AbortSignal): Promise<RegistriesConfig> {
  return getRegistriesConfig(ctx, signal ? { signal } : {});
}

/** Makes a client for `ref`'s registry and repository. */
export async function openClient(o: OpenClientOptions): Promise<RegistryClient> {
  const config = o.registriesConfig ?? (await registriesConfigFor(o.ctx, o.signal));
  if (o.checkBlocked !== false) assertNotBlocked(config, o.ref.name);
  const domain = domainOf(o.ref);
  const repository = o.registryOnly ? undefined : pathOf(o.ref);
  const credKey = o.registryOnly ? domain : o.ref.name;
  let insecure: boolean;
  if (o.endpointInsecure) insecure = true;
  else if (o.ctx.dockerInsecureSkipTLSVerify !== undefined) insecure = o.ctx.dockerInsecureSkipTLSVerify;
  else insecure = isInsecure(config, o.ref.name);

  const foreignMirror = o.logicalDomain !== undefined && o.logicalDomain !== domain;
  let credCtx = o.ctx;
  if (foreignMirror && o.ctx.dockerAuthConfig !== undefined) {
    const { dockerAuthConfig: _, ...rest } = o.ctx;
    credCtx = rest;
  }
  const bearerToken = !foreignMirror && o.ctx.dockerBearerRegistryToken ? o.ctx.dockerBearerRegistryToken : undefined;
  const credentials = bearerToken
    ? undefined
    : await getCredentials(credCtx, credKey, { registriesConfig: config, ...(o.signal ? { signal: o.signal } : {}) });
  return new RegistryClient({
    ctx: o.ctx,
    options: o.options,
    domain,
    ...(repository !== undefined ? { repository } : {}),
    actions: o.actions,
    insecure,
    ...(credentials ? { credentials } : {}),
    ...(bearerToken ? { bearerToken } : {}),
  });
}
