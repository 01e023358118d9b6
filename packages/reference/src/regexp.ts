/**
 * The regular expressions of the docker reference grammar.
 *
 * ```
 * reference        := name [ ":" tag ] [ "@" digest ]
 * name             := [domain "/"] remote-name
 * domain           := host [":" port-number]
 * host             := domain-name | IPv4address | "[" IPv6address "]"
 * domain-name      := domain-component ["." domain-component]*
 * domain-component := /([a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])/
 * port-number      := /[0-9]+/
 * path-component   := alpha-numeric [separator alpha-numeric]*
 * remote-name      := path-component ["/" path-component]*
 * alpha-numeric    := /[a-z0-9]+/
 * separator        := /[_.]|__|[-]+/
 * tag              := /[\w][\w.-]{0,127}/
 * digest           := algorithm ":" hex      (hex: at least 32 hex digits)
 * identifier       := /[a-f0-9]{64}/
 * ```
 *
 * Every pattern is written so that a backtracking engine matches it in
 * linear time: each repetition is separated by a mandatory delimiter, so no
 * input can be split in more than one way.
 *
 * The exported RegExp objects are frozen and have no `g` or `y` flag, so they
 * carry no state between calls. The parser uses private copies.
 *
 * @module
 */

import {
  anchoredNamePat,
  digestPat,
  domainAndPort,
  identifier,
  matchers,
  namePat,
  referencePat,
  shortIdentifier,
  tag,
} from "./internal/patterns.js";

function frozen(source: string): RegExp {
  return Object.freeze(new RegExp(source));
}

/** The full reference `name[:tag][@digest]`, anchored, capturing name, tag and digest (Go: `ReferenceRegexp`). */
export const referenceRegexp: RegExp = frozen(referencePat);

/** A name with an optional domain, unanchored and without captures (Go: `NameRegexp`). */
export const nameRegexp: RegExp = frozen(namePat);

/** A name, anchored, capturing the domain (possibly empty) and the path. */
export const anchoredNameRegexp: RegExp = frozen(anchoredNamePat);

/** A domain: host name, IPv4 or bracketed IPv6, with an optional port; unanchored (Go: `DomainRegexp`). */
export const domainRegexp: RegExp = frozen(domainAndPort);

/** A tag, unanchored (Go: `TagRegexp`). */
export const tagRegexp: RegExp = frozen(tag);

/** A tag, anchored. */
export const anchoredTagRegexp: RegExp = frozen(`^${tag}$`);

/** A well-formed digest, unanchored (Go: `DigestRegexp`). */
export const digestRegexp: RegExp = frozen(digestPat);

/** A well-formed digest, anchored. */
export const anchoredDigestRegexp: RegExp = frozen(`^${digestPat}$`);

/** A 64-hex image ID, unanchored, with one capture (Go: `IdentifierRegexp`). */
export const identifierRegexp: RegExp = frozen(identifier);

/** A 64-hex image ID, anchored. */
export const anchoredIdentifierRegexp: RegExp = frozen(`^${identifier}$`);

/** A prefix of an image ID (6 to 64 hex digits), unanchored (Go: `ShortIdentifierRegexp`). */
export const shortIdentifierRegexp: RegExp = frozen(shortIdentifier);

/** A prefix of an image ID (6 to 64 hex digits), anchored. */
export const anchoredShortIdentifierRegexp: RegExp = frozen(`^${shortIdentifier}$`);

/** Whether `id` is a full 64-hex image ID. */
export function isFullIdentifier(id: string): boolean {
  return matchers.anchoredIdentifier.test(id);
}
