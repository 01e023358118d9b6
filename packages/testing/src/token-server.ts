import { createPrivateKey, randomBytes, timingSafeEqual, type KeyObject } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certificatePublicKey, certificateX5c, libtrustKeyId, signRs256 } from "./internal/jwt.js";
import { createSigningCertificate, type SigningCertificate } from "./tls.js";

/** One resource and actions, as in a token scope (`repository:library/busybox:pull,push`) or a JWT `access` claim. */
export interface ResourceAccess {
  /** Resource type, e.g. `repository` or `registry` (a class, if any, is kept: `repository(plugin)`). */
  readonly type: string;
  /** Resource name, e.g. `library/busybox` or `catalog`. */
  readonly name: string;
  /** Actions, e.g. `pull`, `push`, `delete`, `*`. */
  readonly actions: readonly string[];
}

/** A rule saying what a user may do: every requested action in `actions` on matching resources is granted. */
export interface AccessRule {
  /** Resource type the rule applies to; `*` for any. Default `repository`. */
  readonly type?: string;
  /** Resource name; `*` matches any run of characters, `/` included. Default `*`. */
  readonly name?: string;
  /** Actions granted; `*` grants every action asked for. */
  readonly actions: readonly string[];
}

/** Every action on every resource (the default for a user without `access`). */
export const FULL_ACCESS: readonly AccessRule[] = Object.freeze([Object.freeze({ type: "*", name: "*", actions: Object.freeze(["*"]) })]);

/** `pull` on every repository and nothing else: a read-only user. */
export const PULL_ONLY: readonly AccessRule[] = Object.freeze([Object.freeze({ type: "repository", name: "*", actions: Object.freeze(["pull"]) })]);

/** A user the token server knows. */
export interface TokenUser {
  /** The user's password (Basic credentials or OAuth2 `grant_type=password`). */
  readonly password: string;
  /** What the user may do. Default {@link FULL_ACCESS}. */
  readonly access?: readonly AccessRule[];
}

/** How a token request authenticated. */
export type TokenGrant = "anonymous" | "basic" | "password" | "refresh_token";

/** One request the token server answered, recorded for assertions (passwords and tokens are not kept). */
export interface TokenRequestRecord {
  /** `GET` (the Docker token protocol) or `POST` (the OAuth2 form). */
  readonly method: string;
  /** The request path. */
  readonly path: string;
  /** How the client authenticated (what it tried, when it failed). */
  readonly grant: TokenGrant;
  /** The user name the client gave, if any. */
  readonly username?: string;
  /** The `service` parameter. */
  readonly service?: string;
  /** The `client_id` parameter. */
  readonly clientId?: string;
  /** Whether a refresh token (identity token) was asked for: `offline_token=true` or `access_type=offline`. */
  readonly offline: boolean;
  /** The scopes asked for. */
  readonly scopes: readonly ResourceAccess[];
  /** What the issued token grants (empty when no token was issued). */
  readonly granted: readonly ResourceAccess[];
  /** The HTTP status answered. */
  readonly status: number;
}

/** Options of {@link startTokenServer}. */
export interface TokenServerOptions {
  /** The service name the registry is configured with; tokens carry it as `aud` when the client names no service. Default `stevedore-test-registry`. */
  service?: string;
  /** The issuer (`iss`) the registry is configured to trust. Default `stevedore-test-token-server`. */
  issuer?: string;
  /** Known users by name. More can be added with {@link TokenServer.addUser}. */
  users?: Readonly<Record<string, TokenUser>>;
  /**
   * What a client without credentials gets: rules for an anonymous token, or
   * `false` to answer 401. Default `[]`: a token that grants nothing (like a
   * public registry's anonymous token, which opens `/v2/` but no repository).
   */
  anonymous?: readonly AccessRule[] | false;
  /** Token lifetime in seconds. Default 300. */
  expiresIn?: number;
  /** Serve over HTTPS with this certificate and key (PEM). Default plain HTTP. */
  tls?: { readonly cert: string; readonly key: string };
  /** The key that signs tokens; default a fresh RSA-2048 key with a self-signed certificate made by `openssl`. */
  signing?: SigningCertificate;
  /**
   * How a JWT names its signing key: `x5c` (the certificate chain, which the
   * registry verifies against its `rootcertbundle`; `kid` is set as well) or
   * `kid` alone (the libtrust key ID of a certificate in that bundle).
   * Default `x5c`.
   */
  keyHeader?: "x5c" | "kid";
}

/** Options of {@link TokenServer.issueToken}. */
export interface IssueTokenOptions {
  /** The `sub` claim. Default empty (anonymous). */
  subject?: string;
  /** The `access` claim. Default none. */
  access?: readonly ResourceAccess[];
  /** The `aud` claim. Default the server's service. */
  audience?: string;
  /** Seconds until expiry; negative for an already expired token. Default the server's lifetime. */
  expiresIn?: number;
  /** Replace the `iss` claim (e.g. to make a token the registry must reject). */
  issuer?: string;
}

/** A running token server: Docker token authentication for the real registry's `auth.token`. */
export interface TokenServer extends AsyncDisposable {
  /** The server's origin, e.g. `http://127.0.0.1:40123`. */
  readonly url: string;
  /** The token endpoint (the registry's `realm`): `<url>/token`. */
  readonly realm: string;
  /** The default service name (`aud`). */
  readonly service: string;
  /** The issuer (`iss`). */
  readonly issuer: string;
  /** The certificate (PEM) whose key signs tokens: the registry's `rootcertbundle`. */
  readonly signingCertPem: string;
  /** The libtrust key ID of the signing key (the `kid` header). */
  readonly keyId: string;
  /** The requests answered so far, oldest first. */
  readonly requests: readonly TokenRequestRecord[];
  /** Forgets the recorded requests. */
  clearRequests(): void;
  /** Adds (or replaces) a user. */
  addUser(username: string, user: TokenUser): void;
  /** Makes a refresh token (an identity token, as `auth.json` stores it) for a known user. */
  issueRefreshToken(username: string): string;
  /** Signs a token directly, without a request (e.g. an expired or foreign one). */
  issueToken(options?: IssueTokenOptions): string;
  /** Closes the server and its connections; idempotent. */
  stop(): Promise<void>;
}

class RequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`);
}

/** Parses one scope `type:name:actions` (the name may itself hold colons). */
export function parseScope(scope: string): ResourceAccess {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last === first) {
    throw new RequestError(400, "invalid_scope", `invalid scope "${scope}": want type:name:actions`);
  }
  const actions = scope.slice(last + 1).split(",").filter((a) => a !== "");
  return { type: scope.slice(0, first), name: scope.slice(first + 1, last), actions };
}

function grant(rules: readonly AccessRule[], scopes: readonly ResourceAccess[]): ResourceAccess[] {
  const merged = new Map<string, { type: string; name: string; actions: Set<string> }>();
  for (const scope of scopes) {
    const allowed = new Set<string>();
    for (const rule of rules) {
      const type = rule.type ?? "repository";
      if (type !== "*" && type !== scope.type) continue;
      if (!globToRegExp(rule.name ?? "*").test(scope.name)) continue;
      for (const a of rule.actions) allowed.add(a);
    }
    const granted = scope.actions.filter((a) => allowed.has("*") || allowed.has(a));
    if (granted.length === 0) continue;
    const key = `${scope.type}\u0000${scope.name}`;
    const entry = merged.get(key) ?? { type: scope.type, name: scope.name, actions: new Set<string>() };
    for (const a of granted) entry.actions.add(a);
    merged.set(key, entry);
  }
  return [...merged.values()].map((e) => ({ type: e.type, name: e.name, actions: [...e.actions] }));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new RequestError(413, "invalid_request", "request body too large");
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function splitScopes(values: readonly string[]): ResourceAccess[] {
  return values.flatMap((v) => v.split(" ")).filter((s) => s !== "").map(parseScope);
}

/**
 * Starts a token server on 127.0.0.1 (a free port) implementing Docker token
 * authentication for the real registry's `auth.token`: `GET <realm>?service=&scope=`
 * with Basic credentials (or none) answers `{token, access_token, expires_in, issued_at}`,
 * and the OAuth2 form `POST <realm>` accepts `grant_type=password` and
 * `grant_type=refresh_token` (identity tokens). Tokens are RS256 JWTs carrying
 * only the scopes the user is allowed. Every request is recorded in `requests`.
 */
export async function startTokenServer(options: TokenServerOptions = {}): Promise<TokenServer> {
  const service = options.service ?? "stevedore-test-registry";
  const issuer = options.issuer ?? "stevedore-test-token-server";
  const lifetime = options.expiresIn ?? 300;
  const anonymous = options.anonymous ?? [];
  const keyHeader = options.keyHeader ?? "x5c";
  const users = new Map<string, TokenUser>(Object.entries(options.users ?? {}));
  const refreshTokens = new Map<string, string>();
  const requests: TokenRequestRecord[] = [];

  let signing = options.signing;
  if (!signing) {
    const dir = await mkdtemp(join(tmpdir(), "stevedore-token-"));
    try {
      signing = await createSigningCertificate(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const privateKey: KeyObject = createPrivateKey(signing.keyPem);
  const keyId = libtrustKeyId(certificatePublicKey(signing.certPem));
  const header: Record<string, unknown> =
    keyHeader === "x5c" ? { kid: keyId, x5c: [certificateX5c(signing.certPem)] } : { kid: keyId };

  function issueToken(o: IssueTokenOptions = {}): string {
    const now = Math.floor(Date.now() / 1000);
    return signRs256(
      header,
      {
        iss: o.issuer ?? issuer,
        sub: o.subject ?? "",
        aud: o.audience ?? service,
        exp: now + (o.expiresIn ?? lifetime),
        nbf: now - 1,
        iat: now,
        jti: randomBytes(16).toString("hex"),
        access: (o.access ?? []).map((a) => ({ type: a.type, name: a.name, actions: [...a.actions] })),
      },
      privateKey,
    );
  }

  function issueRefreshToken(username: string): string {
    if (!users.has(username)) throw new TypeError(`issueRefreshToken: unknown user "${username}"`);
    const token = randomBytes(24).toString("base64url");
    refreshTokens.set(token, username);
    return token;
  }

  function checkPassword(username: string, password: string): TokenUser {
    const user = users.get(username);
    if (!user || !sameSecret(user.password, password)) {
      throw new RequestError(401, "invalid_grant", `invalid username or password for "${username}"`);
    }
    return user;
  }

  function respond(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...extra });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://token.invalid");
    const method = req.method ?? "GET";
    const record: {
      method: string;
      path: string;
      grant: TokenGrant;
      username?: string;
      service?: string;
      clientId?: string;
      offline: boolean;
      scopes: ResourceAccess[];
      granted: ResourceAccess[];
      status: number;
    } = { method, path: url.pathname, grant: "anonymous", offline: false, scopes: [], granted: [], status: 0 };
    const post = method === "POST";
    try {
      if (url.pathname !== "/token") throw new RequestError(404, "not_found", `no such endpoint: ${url.pathname}`);
      let params: URLSearchParams;
      if (method === "GET") {
        params = url.searchParams;
      } else if (post) {
        const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
        const body = await readBody(req, 64 * 1024);
        if (type !== "application/x-www-form-urlencoded") {
          throw new RequestError(400, "invalid_request", "the token form must be application/x-www-form-urlencoded");
        }
        params = new URLSearchParams(body);
      } else {
        throw new RequestError(405, "invalid_request", `method ${method} not allowed`);
      }
      const requestedService = params.get("service") ?? undefined;
      if (requestedService !== undefined) record.service = requestedService;
      const clientId = params.get("client_id") ?? undefined;
      if (clientId !== undefined) record.clientId = clientId;
      record.scopes = splitScopes(params.getAll("scope"));

      let rules: readonly AccessRule[];
      let subject = "";
      let refresh: string | undefined;
      if (!post) {
        record.offline = params.get("offline_token") === "true";
        const auth = req.headers.authorization;
        if (auth && /^basic /i.test(auth)) {
          record.grant = "basic";
          const decoded = Buffer.from(auth.slice(6).trim(), "base64").toString("utf8");
          const colon = decoded.indexOf(":");
          if (colon < 0) throw new RequestError(401, "invalid_grant", "malformed Basic credentials");
          const username = decoded.slice(0, colon);
          record.username = username;
          const user = checkPassword(username, decoded.slice(colon + 1));
          rules = user.access ?? FULL_ACCESS;
          subject = username;
          if (record.offline) refresh = issueRefreshToken(username);
        } else {
          if (anonymous === false) throw new RequestError(401, "invalid_grant", "authentication required");
          rules = anonymous;
        }
      } else {
        const grantType = params.get("grant_type");
        if (!grantType) throw new RequestError(400, "invalid_request", "missing grant_type");
        if (clientId === undefined || clientId === "") throw new RequestError(400, "invalid_request", "missing client_id");
        if (grantType === "password") {
          record.grant = "password";
          record.offline = params.get("access_type") === "offline";
          const username = params.get("username") ?? "";
          record.username = username;
          const user = checkPassword(username, params.get("password") ?? "");
          rules = user.access ?? FULL_ACCESS;
          subject = username;
          if (record.offline) refresh = issueRefreshToken(username);
        } else if (grantType === "refresh_token") {
          record.grant = "refresh_token";
          const username = refreshTokens.get(params.get("refresh_token") ?? "");
          if (username === undefined) throw new RequestError(401, "invalid_grant", "unknown refresh token");
          record.username = username;
          const user = users.get(username);
          if (!user) throw new RequestError(401, "invalid_grant", "the refresh token's user no longer exists");
          rules = user.access ?? FULL_ACCESS;
          subject = username;
        } else {
          throw new RequestError(400, "unsupported_grant_type", `unsupported grant_type "${grantType}"`);
        }
      }
      record.granted = grant(rules, record.scopes);
      const token = issueToken({ subject, access: record.granted, audience: requestedService ?? service });
      const issuedAt = new Date().toISOString();
      record.status = 200;
      if (post) {
        respond(res, 200, {
          access_token: token,
          scope: record.granted.map((g) => `${g.type}:${g.name}:${g.actions.join(",")}`).join(" "),
          expires_in: lifetime,
          issued_at: issuedAt,
          ...(refresh ? { refresh_token: refresh } : {}),
        });
      } else {
        respond(res, 200, {
          token,
          access_token: token,
          expires_in: lifetime,
          issued_at: issuedAt,
          ...(refresh ? { refresh_token: refresh } : {}),
        });
      }
    } catch (error) {
      const e = error instanceof RequestError ? error : new RequestError(500, "server_error", String(error));
      record.status = e.status;
      const extra: Record<string, string> = e.status === 401 && !post ? { "www-authenticate": `Basic realm="${issuer}"` } : {};
      if (post) respond(res, e.status, { error: e.code, error_description: e.message }, extra);
      else respond(res, e.status, { errors: [{ code: e.code.toUpperCase(), message: e.message }] }, extra);
    } finally {
      requests.push(Object.freeze(record));
    }
  }

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  };
  const server: Server = options.tls
    ? createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `${options.tls ? "https" : "http"}://127.0.0.1:${port}`;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return stopping;
  };

  return {
    url: origin,
    realm: `${origin}/token`,
    service,
    issuer,
    signingCertPem: signing.certPem,
    keyId,
    get requests() {
      return requests.slice();
    },
    clearRequests() {
      requests.length = 0;
    },
    addUser(username, user) {
      if (username === "" || username.includes(":")) throw new TypeError(`addUser: invalid user name "${username}"`);
      users.set(username, user);
    },
    issueRefreshToken,
    issueToken,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
