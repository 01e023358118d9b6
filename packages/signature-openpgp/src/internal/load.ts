import type * as OpenPgp from "openpgp";

/** The openpgp.js module namespace. */
export type OpenPgpModule = typeof OpenPgp;

let loading: Promise<OpenPgpModule> | undefined;

/** Loads openpgp.js on first use (it is large; importing this package must stay cheap). */
export function loadOpenPgp(): Promise<OpenPgpModule> {
  loading ??= import("openpgp");
  return loading;
}
