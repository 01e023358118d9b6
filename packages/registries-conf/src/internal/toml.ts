import { parse, TomlError } from "smol-toml";
import { RegistriesConfError } from "../errors.js";
import { describe } from "./aliases.js";

/** A TOML table as smol-toml returns it (null-prototype object). */
export type Table = Record<string, unknown>;

/** Nesting deeper than this is not a registries.conf; it is refused instead of recursed into. */
const MAX_DEPTH = 32;

/** Parses TOML text; every failure becomes a {@link RegistriesConfError} naming the source. */
export function parseTomlText(source: string, text: string): Table {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return parse(body, { maxDepth: MAX_DEPTH, unsafeKeyBehaviour: "keep" }) as Table;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split("\n", 1)[0] ?? "invalid TOML";
      throw new RegistriesConfError(source, "", `not valid TOML: ${first} (line ${e.line}, column ${e.column})`);
    }
    throw new RegistriesConfError(source, "", `not valid TOML: ${(e as Error)?.message ?? String(e)}`, { cause: e });
  }
}

/** The value of `key` in `table` when it is an own property. */
export function get(table: Table, key: string): unknown {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

function isTable(v: unknown): v is Table {
  return typeof v === "object" && v !== null && !Array.isArray(v) && describe(v) === "a table";
}

/** Typed accessors that throw a {@link RegistriesConfError} naming the field on a type mismatch. */
export class Fields {
  constructor(readonly source: string) {}

  fail(field: string, problem: string): never {
    throw new RegistriesConfError(this.source, field, problem);
  }

  string(field: string, v: unknown): string {
    if (typeof v !== "string") this.fail(field, `must be a string, not ${describe(v)}`);
    return v;
  }

  optString(table: Table, key: string, field: string): string {
    const v = get(table, key);
    return v === undefined ? "" : this.string(field, v);
  }

  optBool(table: Table, key: string, field: string): boolean {
    const v = get(table, key);
    if (v === undefined) return false;
    if (typeof v !== "boolean") this.fail(field, `must be true or false, not ${describe(v)}`);
    return v;
  }

  table(field: string, v: unknown): Table {
    if (!isTable(v)) this.fail(field, `must be a table, not ${describe(v)}`);
    return v;
  }

  stringArray(field: string, v: unknown): string[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array of strings, not ${describe(v)}`);
    return v.map((item, i) => this.string(`${field}[${i}]`, item));
  }

  tableArray(field: string, v: unknown): Table[] {
    if (!Array.isArray(v)) this.fail(field, `must be an array of tables, not ${describe(v)}`);
    return v.map((item, i) => this.table(`${field}[${i}]`, item));
  }
}
