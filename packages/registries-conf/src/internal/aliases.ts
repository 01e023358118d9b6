import { RegistriesConfError } from "../errors.js";
import type { ShortNameAlias } from "../types.js";
import { explicitRegistry, parseNormalized, splitName, type SplitName } from "./names.js";

/**
 * Checks that `name` is a short name fit to be an alias key: a valid
 * repository without a registry, tag or digest. Returns a problem
 * description, or `undefined` when it is fine.
 */
export function shortNameProblem(name: string): string | undefined {
  let split: SplitName;
  try {
    split = splitName(name);
  } catch (e) {
    return `short name ${JSON.stringify(name)} is not a valid repository name: ${(e as Error).message}`;
  }
  if (split.digest !== undefined) return `short name ${JSON.stringify(name)} must not contain a digest`;
  if (split.tag !== undefined) return `short name ${JSON.stringify(name)} must not contain a tag`;
  if (explicitRegistry(split.repo) !== undefined) {
    return `short name ${JSON.stringify(name)} must not contain a registry`;
  }
  return undefined;
}

/**
 * Validates an alias value (a fully-qualified repository without tag or
 * digest) and returns its normalised name, or a problem description.
 */
export function aliasValue(value: string): { name: string } | { problem: string } {
  let split: SplitName;
  try {
    split = splitName(value);
  } catch (e) {
    return { problem: `alias ${JSON.stringify(value)} is not a valid reference: ${(e as Error).message}` };
  }
  if (split.digest !== undefined) return { problem: `alias ${JSON.stringify(value)} must not contain a digest` };
  if (split.tag !== undefined) return { problem: `alias ${JSON.stringify(value)} must not contain a tag` };
  if (explicitRegistry(split.repo) === undefined) {
    return { problem: `alias ${JSON.stringify(value)} must contain a registry and a repository` };
  }
  try {
    return { name: parseNormalized(value).name };
  } catch (e) {
    return { problem: `alias ${JSON.stringify(value)} is not a valid reference: ${(e as Error).message}` };
  }
}

/**
 * Validates an `[aliases]` table. Every malformed entry is reported at
 * once, so that a user fixes them in one pass.
 */
export function parseAliasTable(
  source: string,
  field: string,
  table: Record<string, unknown>,
): Map<string, ShortNameAlias> {
  const out = new Map<string, ShortNameAlias>();
  const problems: { field: string; problem: string }[] = [];
  for (const [name, value] of Object.entries(table)) {
    const keyField = `${field}.${JSON.stringify(name)}`;
    if (typeof value !== "string") {
      problems.push({ field: keyField, problem: `must be a string, not ${describe(value)}` });
      continue;
    }
    const nameProblem = shortNameProblem(name);
    if (nameProblem !== undefined) {
      problems.push({ field: keyField, problem: nameProblem });
      continue;
    }
    if (value === "") {
      out.set(name, { value: undefined, origin: source });
      continue;
    }
    const parsed = aliasValue(value);
    if ("problem" in parsed) problems.push({ field: keyField, problem: parsed.problem });
    else out.set(name, { value: parsed.name, origin: source });
  }
  const [first] = problems;
  if (first !== undefined && problems.length === 1) throw new RegistriesConfError(source, first.field, first.problem);
  if (problems.length > 1) {
    const lines = problems.map((p) => `${p.field}: ${p.problem}`);
    throw new RegistriesConfError(source, field, `invalid short-name aliases:\n  ${lines.join("\n  ")}`);
  }
  return out;
}

/** A short description of a TOML value's type, for error messages. */
export function describe(value: unknown): string {
  if (Array.isArray(value)) return "an array";
  if (value === null) return "null";
  if (typeof value === "object") return value instanceof Date ? "a date" : "a table";
  if (typeof value === "bigint" || typeof value === "number") return "a number";
  if (typeof value === "boolean") return "a boolean";
  return `a ${typeof value}`;
}
