import { UsageError } from "./args.js";

/**
 * A small subset of Go's text/template, enough for `inspect --format`:
 * `{{.Field}}`, `{{.Field.Sub}}`, `{{json .Field}}`, `{{index .Map "key"}}`
 * and `{{"\n"}}`-style string literals. Anything else is a usage error that
 * says what is supported.
 */
export function renderTemplate(template: string, data: unknown): string {
  let out = "";
  let i = 0;
  while (i < template.length) {
    const open = template.indexOf("{{", i);
    if (open < 0) {
      out += template.slice(i);
      break;
    }
    out += template.slice(i, open);
    const close = template.indexOf("}}", open + 2);
    if (close < 0) throw new UsageError(`--format: unclosed "{{" in ${JSON.stringify(template)}`);
    out += evaluate(template.slice(open + 2, close).trim(), data);
    i = close + 2;
  }
  return out;
}

function lookup(path: string, data: unknown): unknown {
  if (path === ".") return data;
  if (!/^(\.[A-Za-z_][A-Za-z0-9_]*)+$/.test(path)) throw new UsageError(`--format: unsupported expression "${path}"`);
  let v: unknown = data;
  for (const key of path.slice(1).split(".")) {
    if (v === null || typeof v !== "object" || !(key in (v as object))) throw new UsageError(`--format: ${path}: no field "${key}"`);
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return "<no value>";
  if (Array.isArray(v)) return `[${v.map(text).join(" ")}]`;
  if (typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `map[${entries.map(([k, x]) => `${k}:${text(x)}`).join(" ")}]`;
  }
  return String(v);
}

function evaluate(expr: string, data: unknown): string {
  const str = /^"((?:[^"\\]|\\.)*)"$/.exec(expr);
  if (str) return JSON.parse(`"${str[1]}"`) as string;
  const json = /^json\s+(\S+)$/.exec(expr);
  if (json) return JSON.stringify(lookup(json[1]!, data));
  const index = /^index\s+(\S+)\s+"((?:[^"\\]|\\.)*)"$/.exec(expr);
  if (index) {
    const m = lookup(index[1]!, data);
    const key = JSON.parse(`"${index[2]}"`) as string;
    return text(m !== null && typeof m === "object" ? (m as Record<string, unknown>)[key] : undefined);
  }
  if (expr.startsWith(".")) return text(lookup(expr, data));
  throw new UsageError(`--format: unsupported template action "{{${expr}}}" (supported: {{.Field}}, {{json .Field}}, {{index .Map "key"}}, {{"text"}})`);
}
