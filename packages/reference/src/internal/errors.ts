import { InvalidReferenceError } from "@stevedore/types";

/** The texts of the rules, worded as containers/image words them. */
export const Rule = {
  invalidFormat: "invalid reference format",
  uppercase: "invalid reference format: repository name must be lowercase",
  nameEmpty: "repository name must have at least one component",
  nameTooLong: "repository name must not be more than 255 characters",
  notCanonical: "repository name must be canonical",
  tagFormat: "invalid tag format",
  digestFormat: "invalid digest format",
  digestUnsupported: "unsupported digest algorithm",
  digestLength: "invalid checksum digest length",
  digestHex: "invalid checksum digest format",
  hexIdentifier: "cannot specify 64-byte hexadecimal strings",
  badPattern: "syntax error in pattern",
  notAString: "not a string",
  noName: "reference has no name",
} as const;

/** Quotes `s` for an error message, shortening very long input. */
export function show(s: unknown): string {
  const t = typeof s === "string" ? s : String(s);
  return JSON.stringify(t.length > 300 ? t.slice(0, 300) + "…" : t);
}

/** An {@link InvalidReferenceError} naming `input` and the rule it broke. */
export function invalid(input: unknown, rule: string, cause?: unknown): InvalidReferenceError {
  return new InvalidReferenceError(`${show(input)}: ${rule}`, cause === undefined ? undefined : { cause });
}

/** Throws unless `s` is a string (callers in plain JavaScript may pass anything). */
export function requireString(s: unknown): asserts s is string {
  if (typeof s !== "string") throw invalid(s, Rule.notAString);
}

/**
 * Lowercases like Go's `strings.ToLower`: per code point, with the simple
 * (one-to-one) case mapping. JavaScript's `toLowerCase` uses the full
 * mapping, which differs for U+0130 (İ becomes "i̇", two code points, where
 * Go gives "i") and applies the final-sigma rule, so it is applied to one
 * code point at a time and U+0130 is special-cased.
 */
export function goToLower(s: string): string {
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return s.toLowerCase();
  let out = "";
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp < 0x80) out += ch.toLowerCase();
    else if (cp === 0x130) out += "i";
    else {
      const lower = ch.toLowerCase();
      out += [...lower].length === 1 ? lower : ch;
    }
  }
  return out;
}
