import { parseDigest, type Digest } from "@stevedore/types";
import type { Named } from "../types.js";
import { goToLower, invalid, Rule } from "./errors.js";
import { makeNamed } from "./objects.js";
import { matchers } from "./patterns.js";

/** The maximum length of a repository name, domain included. */
export const NAME_TOTAL_LENGTH_MAX = 255;

/**
 * Splits a name into domain and path with the grammar alone (Go:
 * `splitDomain`): the first component is the domain only when the name has
 * more than one component. Returns `["", name]` when the name does not match.
 */
export function splitDomain(name: string): [string, string] {
  const m = matchers.anchoredName.exec(name);
  if (m === null) return ["", name];
  return [m[1] ?? "", m[2] ?? ""];
}

/**
 * Validates a digest found in or given for a reference. The grammar accepts
 * any `algorithm:hex` with at least 32 hex digits; the digest must then be
 * one Stevedore supports (sha256, sha384, sha512, lowercase hex of the right
 * length), as Go's `digest.Parse` requires a registered algorithm.
 */
export function checkDigest(input: unknown, d: string): Digest {
  try {
    return parseDigest(d);
  } catch (e) {
    const i = d.indexOf(":");
    const alg = d.slice(0, i);
    const hex = d.slice(i + 1);
    const len = ({ sha256: 64, sha384: 96, sha512: 128 } as Record<string, number>)[alg];
    const rule =
      len === undefined
        ? `${Rule.digestUnsupported} ${JSON.stringify(alg)} (supported: sha256, sha384, sha512)`
        : hex.length !== len
          ? `${Rule.digestLength} (${alg} needs ${len} hex digits, got ${hex.length})`
          : `${Rule.digestHex} (hex digits must be lowercase)`;
    throw invalid(input, rule, e);
  }
}

/**
 * The parser behind `parse`: `s` is parsed, `input` is what error messages
 * name (the caller's text, which may differ from `s` after normalisation).
 */
export function parseReference(s: string, input: unknown): Named {
  if (s === "") throw invalid(input, Rule.nameEmpty);
  const m = matchers.reference.exec(s);
  if (m === null) {
    if (matchers.reference.test(goToLower(s))) throw invalid(input, Rule.uppercase);
    throw invalid(input, Rule.invalidFormat);
  }
  const name = m[1] ?? "";
  if (name.length > NAME_TOTAL_LENGTH_MAX) throw invalid(input, Rule.nameTooLong);
  const [dom, p] = splitDomain(name);
  const tag = m[2];
  const digest = m[3] === undefined ? undefined : checkDigest(input, m[3]);
  return makeNamed(dom, p, tag, digest);
}

