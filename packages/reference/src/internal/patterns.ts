/** The pattern sources of the reference grammar; see ../regexp.ts for the grammar. */

/** Lowercase letters and digits: the atom of a path component. */
export const alphanumeric = "[a-z0-9]+";

/** One period, one or two underscores, or one or more dashes. */
export const separator = "(?:[._]|__|[-]+)";

/** `localhost` is always a domain when it comes before the first slash. */
export const localhost = "localhost";

/** One label of a domain name; uppercase letters are allowed. */
export const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";

/** An optional `:port`. */
export const optionalPort = "(?::[0-9]+)?";

/** A tag: a word character followed by up to 127 word characters, periods and dashes. */
export const tag = "[\\w][\\w.-]{0,127}";

/** A well-formed digest `algorithm:hex`; whether the algorithm is supported is checked separately. */
export const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";

/** A 64-hex image ID, as printed by `docker images --no-trunc` without `sha256:`. */
export const identifier = "([a-f0-9]{64})";

/** A prefix of an image ID: 6 to 64 lowercase hex digits. */
export const shortIdentifier = "([a-f0-9]{6,64})";

/** An IPv6 address in brackets, without a zone. */
export const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";

/** A domain name or dotted IPv4 address. */
export const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;

/** A host: domain name, IPv4 or bracketed IPv6. */
export const host = `(?:${domainName}|${ipv6address})`;

/** A host with an optional port. */
export const domainAndPort = host + optionalPort;

/** One path component. */
export const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;

/** The remote name (path): slash-separated path components. */
export const remoteName = `${pathComponent}(?:/${pathComponent})*`;

/** A full name: optional domain, then the remote name. */
export const namePat = `(?:${domainAndPort}/)?${remoteName}`;

/** The anchored name with two captures: domain and path. */
export const anchoredNamePat = `^(?:(${domainAndPort})/)?(${remoteName})$`;

/** The anchored reference with three captures: name, tag and digest. */
export const referencePat = `^(${namePat})(?::(${tag}))?(?:@(${digestPat}))?$`;

/** Private copies used by the parser, out of reach of callers. */
export const matchers = {
  reference: new RegExp(referencePat),
  anchoredName: new RegExp(anchoredNamePat),
  anchoredTag: new RegExp(`^${tag}$`),
  anchoredDigest: new RegExp(`^${digestPat}$`),
  anchoredIdentifier: new RegExp(`^${identifier}$`),
} as const;

