/**
 * Parsers for the HTTP headers the registry protocol relies on:
 * `WWW-Authenticate` challenges, `Retry-After`, `Link` and `Content-Range`.
 *
 * @module
 */

/** One authentication challenge of a `WWW-Authenticate` header. */
export interface Challenge {
  /** The scheme, lower-cased: `bearer`, `basic`, ... */
  readonly scheme: string;
  /** The auth-params, keys lower-cased (`realm`, `service`, `scope`, `error`). */
  readonly params: Readonly<Record<string, string>>;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

/**
 * Parses the values of `WWW-Authenticate` headers (RFC 9110 §11.6.1):
 * `Bearer realm="https://auth.example/token",service="registry",scope="…"`,
 * several challenges in one value or across values. Parameters with quoted
 * strings may contain commas and escaped quotes. Malformed trailing text is
 * ignored; what was parsed before it is kept.
 */
export function parseChallenges(values: readonly string[]): Challenge[] {
  const out: Challenge[] = [];
  for (const value of values) {
    let s = value;
    let current: { scheme: string; params: Record<string, string> } | undefined;
    for (;;) {
      s = s.replace(/^[\s,]+/, "");
      if (s === "") break;
      const tok = TOKEN.exec(s);
      if (!tok) break;
      const word = tok[0];
      const rest = s.slice(word.length);
      const afterWs = rest.replace(/^\s*/, "");
      if (afterWs.startsWith("=") && current !== undefined && !/^=\s*=*\s*(,|$)/.test(afterWs)) {
        // An auth-param of the current challenge.
        let v = afterWs.slice(1).replace(/^\s*/, "");
        let val: string;
        if (v.startsWith('"')) {
          let i = 1;
          let buf = "";
          while (i < v.length && v[i] !== '"') {
            if (v[i] === "\\" && i + 1 < v.length) i++;
            buf += v[i];
            i++;
          }
          val = buf;
          v = v.slice(Math.min(i + 1, v.length));
        } else {
          const t = TOKEN.exec(v);
          val = t ? t[0] : "";
          v = v.slice(val.length);
        }
        current.params[word.toLowerCase()] = val;
        s = v;
        continue;
      }
      // A new challenge: scheme [token68 | params].
      current = { scheme: word.toLowerCase(), params: {} };
      out.push(current);
      s = rest;
      const ws = /^\s+/.exec(s);
      if (ws) {
        const after = s.slice(ws[0].length);
        const t68 = TOKEN68.exec(after);
        // token68 form (`Basic dXNlcjpwYXNz`), recognised when not followed by "=" of a param.
        if (t68 && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+\s*=[^=]/.test(after) && /^\s*(,|$)/.test(after.slice(t68[0].length))) {
          current.params[""] = t68[0];
          s = after.slice(t68[0].length);
        }
      }
    }
  }
  return out;
}

/** A token scope `type:name:actions`, e.g. `repository:library/busybox:pull`. */
export interface AuthScope {
  readonly resourceType: string;
  readonly remoteName: string;
  readonly actions: string;
}

/** `type:name:actions` of a scope. */
export function formatScope(s: AuthScope): string {
  return `${s.resourceType}:${s.remoteName}:${s.actions}`;
}

/**
 * Parses a scope as a registry sends it in an `insufficient_scope`
 * challenge. The first colon ends the type, the last one starts the actions.
 * Returns undefined for anything that does not have three non-empty parts.
 */
export function parseScope(scope: string): AuthScope | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first || last === scope.length - 1) return undefined;
  const resourceType = scope.slice(0, first);
  const remoteName = scope.slice(first + 1, last);
  const actions = scope.slice(last + 1);
  if (remoteName === "" || /\s/.test(scope)) return undefined;
  return { resourceType, remoteName, actions };
}

/**
 * The delay a `Retry-After` value asks for, in milliseconds: delta-seconds
 * (`120`) or an HTTP-date in the future. Undefined for an absent, invalid
 * or past value (the caller then uses its own backoff).
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === "") return undefined;
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n * 1000 : undefined;
  }
  // IMF-fixdate and the two obsolete formats all start with a weekday name.
  if (!/^[A-Za-z]{3}/.test(v)) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  const delta = t - now;
  return delta > 0 ? delta : undefined;
}

/**
 * The `rel="next"` target of `Link` header values (RFC 8288), as written
 * (relative or absolute), or undefined.
 */
export function parseNextLink(values: readonly string[]): string | undefined {
  for (const value of values) {
    const re = /<([^>]*)>((?:\s*;\s*[^;,]+)*)/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(value)) !== null) {
      const params = m[2] ?? "";
      const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
      const rels = (rel?.[1] ?? rel?.[2] ?? "").toLowerCase().split(/\s+/);
      if (rels.includes("next")) return m[1];
    }
  }
  return undefined;
}

/** A parsed `Content-Range: bytes first-last/total` (total undefined for `*`). */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  readonly total: number | undefined;
}

/** Parses `Content-Range: bytes first-last/total`; undefined when malformed. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = m[3] === "*" ? undefined : Number(m[3]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return undefined;
  if (total !== undefined && (!Number.isSafeInteger(total) || last >= total)) return undefined;
  return { first, last, total };
}

/**
 * A `Content-Length` value: a non-negative integer, undefined when absent.
 * Throws a plain `Error` (the caller wraps it) for a malformed value.
 */
export function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (!/^\d+$/.test(v)) throw new Error(`invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`);
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new Error(`invalid Content-Length ${JSON.stringify(value.slice(0, 40))}`);
  return n;
}
