import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  UNKNOWN_COMPRESSION,
  isDigest,
  type BlobInfoCache,
  type CompressorName,
  type Digest,
} from "@stevedore/types";
import {
  createMemoryCache,
  lookUpCandidateLocations,
  lookUpUncompressedDigest,
  type BlobInfoCacheReader,
  type CandidateQueryOptions,
  type CandidateWithLocationInfo,
  type MemoryBlobInfoCache,
  type StoredLocation,
} from "@stevedore/blobinfocache-memory";
import { loadDriver, retryWhileBusy, type Database, type Statement } from "./internal/driver.js";
import { PendingWrites, withPending } from "./internal/pending.js";
import { SCHEMA_VERSION, prepareSchema } from "./internal/schema.js";

/** A problem that made the sqlite cache fall back to memory, as given to `onWarning`. */
export interface SqliteCacheWarning {
  /** What happened and what to do, naming the file. */
  message: string;
  /** The cache file ("" when none could be determined). */
  path: string;
  /** The underlying error, when there is one. */
  cause?: unknown;
}

/** Options of {@link openSqliteCache}. */
export interface SqliteCacheOptions {
  /**
   * Called (at most once per cache object) when the file cannot be used and
   * the cache falls back to memory. The cache never prints and never throws
   * for this; without a callback the problem goes unreported.
   */
  onWarning?: (warning: SqliteCacheWarning) => void;
  /** The clock used for "last seen" times; defaults to the system clock. */
  now?: () => Date;
  /**
   * How long to wait for another process's lock on the file before giving
   * up, in milliseconds (default 10 000).
   */
  busyTimeoutMs?: number;
}

/** Which store a {@link SqliteBlobInfoCache} is using. */
export type SqliteCacheBackend = "sqlite" | "memory";

interface Statements {
  getPair: Statement;
  twins: Statement;
  getCompressor: Statement;
  locations: Statement;
  putPair: Statement;
  putCompressor: Statement;
  deleteCompressor: Statement;
  putLocation: Statement;
}

interface Connection {
  db: Database;
  s: Statements;
  saved: BlobInfoCacheReader;
}

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

function prepareStatements(db: Database): Statements {
  return {
    getPair: db.prepare("SELECT uncompressed_digest AS u FROM digest_uncompressed WHERE any_digest = ?"),
    twins: db.prepare("SELECT any_digest AS d FROM digest_uncompressed WHERE uncompressed_digest = ?"),
    getCompressor: db.prepare("SELECT compressor AS c FROM digest_compressor WHERE digest = ?"),
    locations: db.prepare("SELECT location AS l, last_seen AS t FROM known_location WHERE transport = ? AND scope = ? AND digest = ?"),
    putPair: db.prepare(
      "INSERT INTO digest_uncompressed (any_digest, uncompressed_digest) VALUES (?, ?) " +
        "ON CONFLICT (any_digest) DO UPDATE SET uncompressed_digest = excluded.uncompressed_digest",
    ),
    putCompressor: db.prepare(
      "INSERT INTO digest_compressor (digest, compressor) VALUES (?, ?) ON CONFLICT (digest) DO UPDATE SET compressor = excluded.compressor",
    ),
    deleteCompressor: db.prepare("DELETE FROM digest_compressor WHERE digest = ?"),
    putLocation: db.prepare(
      "INSERT INTO known_location (transport, scope, digest, location, last_seen) VALUES (?, ?, ?, ?, ?) " +
        "ON CONFLICT (transport, scope, digest, location) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen)",
    ),
  };
}

/** What the file holds, read defensively: rows that are not well-formed are ignored. */
function savedReader(s: Statements): BlobInfoCacheReader {
  return {
    recordedUncompressedDigest: (d) => {
      const u = (s.getPair.get(d) as { u?: unknown } | undefined)?.u;
      return isDigest(u) ? u : undefined;
    },
    digestsWithUncompressedDigest: (u) => {
      const out: Digest[] = [];
      for (const row of s.twins.all(u) as { d?: unknown }[]) if (isDigest(row.d)) out.push(row.d);
      return out;
    },
    recordedCompressor: (d) => {
      const c = (s.getCompressor.get(d) as { c?: unknown } | undefined)?.c;
      return typeof c === "string" && c !== "" && c !== UNKNOWN_COMPRESSION ? c : undefined;
    },
    knownLocations: (t, sc, d) => {
      const out: StoredLocation[] = [];
      for (const row of s.locations.all(t, sc, d) as { l?: unknown; t?: unknown }[]) {
        if (typeof row.l === "string" && row.l !== "" && typeof row.t === "number" && Number.isFinite(row.t)) {
          out.push({ location: row.l, lastSeen: row.t });
        }
      }
      return out;
    },
  };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function isName(s: unknown, allowEmpty: boolean): s is string {
  return typeof s === "string" && (allowEmpty || s.length > 0);
}

/** Why a file was not used, before any SQLite error. */
class Unusable extends Error {}

/**
 * A {@link BlobInfoCache} in an SQLite file (through better-sqlite3), shared
 * by every process that uses the same file: WAL mode lets readers and a
 * writer proceed together, and a busy timeout makes writers wait for each
 * other instead of failing.
 *
 * Between `open()` and `close()` (one copy) writes are held in memory and
 * saved in one transaction by the outermost `close()`; lookups see them at
 * once. Writes outside a batch are saved immediately.
 *
 * The cache is advisory: when the file cannot be used (corrupt, not a
 * Stevedore cache, a newer schema, a directory that cannot be created,
 * better-sqlite3 missing) or fails later, it reports a
 * {@link SqliteCacheWarning} through `onWarning` and carries on in memory;
 * no method throws for it.
 *
 * Create it with {@link openSqliteCache} or `createDefaultCache`; call
 * {@link SqliteBlobInfoCache.dispose} to release the file.
 */
export class SqliteBlobInfoCache implements BlobInfoCache {
  /** The cache file ("" when none could be determined). */
  readonly path: string;
  readonly #now: () => Date;
  readonly #timeoutMs: number;
  readonly #onWarning: ((w: SqliteCacheWarning) => void) | undefined;
  #conn: Connection | undefined;
  #fallback: MemoryBlobInfoCache | undefined;
  #depth = 0;
  #pending: PendingWrites | undefined;

  /**
   * Prefer {@link openSqliteCache}. With `unusable`, starts in memory and
   * reports it (used when no path could be determined).
   */
  constructor(path: string, options: SqliteCacheOptions = {}, unusable?: { message: string; cause?: unknown }) {
    this.path = path;
    this.#now = options.now ?? (() => new Date());
    const t = options.busyTimeoutMs;
    this.#timeoutMs = typeof t === "number" && Number.isFinite(t) && t >= 0 ? t : DEFAULT_BUSY_TIMEOUT_MS;
    this.#onWarning = options.onWarning;
    if (unusable !== undefined) this.#useMemory(unusable.message, unusable.cause);
    else this.#connection();
  }

  /** `sqlite` while the file is in use; `memory` after a fallback. */
  get backend(): SqliteCacheBackend {
    return this.#fallback === undefined ? "sqlite" : "memory";
  }

  /** Starts a batch: writes are held until the matching outermost {@link close}. Calls nest. */
  open(): void {
    this.#depth++;
    if (this.#depth === 1 && this.#fallback === undefined) this.#pending = new PendingWrites();
  }

  /** Ends a batch; the outermost call saves its writes in one transaction. A call without `open()` does nothing. */
  close(): void {
    if (this.#depth === 0) return;
    this.#depth--;
    if (this.#depth > 0) return;
    const pending = this.#pending;
    this.#pending = undefined;
    if (pending !== undefined && !pending.empty) this.#save(pending);
  }

  /**
   * Saves any pending writes and closes the file. The object stays usable:
   * a later call opens the file again.
   */
  dispose(): void {
    const pending = this.#pending;
    if (pending !== undefined && !pending.empty) {
      this.#pending = new PendingWrites();
      this.#save(pending);
    }
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) {
      try {
        conn.db.close();
      } catch {
        // Closing a connection that already failed: nothing more to release.
      }
    }
  }

  /** The uncompressed digest of `anyDigest` (see `BlobInfoCache.uncompressedDigest`). */
  uncompressedDigest(anyDigest: Digest): Digest | undefined {
    if (!isDigest(anyDigest)) return undefined;
    return this.#read(
      "looking up an uncompressed digest",
      (r) => lookUpUncompressedDigest(r, anyDigest),
      (m) => m.uncompressedDigest(anyDigest),
    );
  }

  /** Records that `anyDigest` decompresses to `uncompressed` (only for pairs verified locally). */
  recordDigestUncompressedPair(anyDigest: Digest, uncompressed: Digest): void {
    if (!isDigest(anyDigest) || !isDigest(uncompressed)) return;
    this.#write(
      "recording an uncompressed digest",
      (p) => p.pairs.set(anyDigest, uncompressed),
      (s) => s.putPair.run(anyDigest, uncompressed),
      (m) => m.recordDigestUncompressedPair(anyDigest, uncompressed),
    );
  }

  /** Records that `digest` is stored with compressor `name`; `unknown` forgets what was recorded. */
  recordDigestCompressorName(digest: Digest, name: CompressorName): void {
    if (!isDigest(digest) || !isName(name, false)) return;
    this.#write(
      "recording a compressor",
      (p) => p.compressors.set(digest, name),
      (s) => (name === UNKNOWN_COMPRESSION ? s.deleteCompressor.run(digest) : s.putCompressor.run(digest, name)),
      (m) => m.recordDigestCompressorName(digest, name),
    );
  }

  /** Records that `digest` was seen at `location` within `scope` of `transport`, now. */
  recordKnownLocation(transport: string, scope: string, digest: Digest, location: string): void {
    if (!isName(transport, true) || !isName(scope, true) || !isDigest(digest) || !isName(location, false)) return;
    const ms = this.#now().getTime();
    if (!Number.isFinite(ms)) return;
    this.#write(
      "recording a location",
      (p) => p.addLocation(transport, scope, digest, location, ms),
      (s) => s.putLocation.run(transport, scope, digest, location, ms),
      (m) => m.recordKnownLocationAt(transport, scope, digest, location, new Date(ms)),
    );
  }

  /**
   * Places where `digest` (or, with `canSubstitute`, another compression of
   * its content) may be found, best first, at most five; the rules and the
   * extra filters are those of `@stevedore/blobinfocache-memory`.
   */
  candidateLocations(transport: string, scope: string, digest: Digest, options: CandidateQueryOptions): CandidateWithLocationInfo[] {
    if (!isDigest(digest) || !isName(transport, true) || !isName(scope, true)) return [];
    const opts: CandidateQueryOptions = options ?? { canSubstitute: false };
    // An exception from the caller's own filter is the caller's, not a cache failure.
    let callerError: { error: unknown } | undefined;
    const accept = opts.acceptCompression;
    const guarded: CandidateQueryOptions =
      accept === undefined
        ? opts
        : {
            ...opts,
            acceptCompression: (c) => {
              try {
                return accept(c);
              } catch (error) {
                callerError = { error };
                throw error;
              }
            },
          };
    return this.#read(
      "looking up candidate locations",
      (r) => lookUpCandidateLocations(r, transport, scope, digest, guarded),
      (m) => m.candidateLocations(transport, scope, digest, opts),
      () => callerError !== undefined,
    );
  }

  #connection(): Connection | undefined {
    if (this.#fallback !== undefined) return undefined;
    if (this.#conn !== undefined) return this.#conn;
    let db: Database | undefined;
    try {
      const Driver = loadDriver();
      mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
      db = new Driver(this.path, { timeout: this.#timeoutMs });
      const state = prepareSchema(db, this.#timeoutMs);
      if (state.kind === "newer") {
        throw new Unusable(
          `the blob-info cache ${this.path} has schema version ${state.version}, newer than this Stevedore reads (${SCHEMA_VERSION}); ` +
            "using an in-memory cache instead (upgrade Stevedore, or set blobInfoCacheDir to another directory)",
        );
      }
      if (state.kind === "foreign") {
        throw new Unusable(
          `${this.path} is not a Stevedore blob-info cache (another application's SQLite database?); it is left untouched ` +
            "and an in-memory cache is used instead (set blobInfoCacheDir to another directory)",
        );
      }
      const s = prepareStatements(db);
      this.#conn = { db, s, saved: savedReader(s) };
      return this.#conn;
    } catch (e) {
      try {
        db?.close();
      } catch {
        // The connection could not be set up; nothing more to release.
      }
      if (e instanceof Unusable) this.#useMemory(e.message);
      else {
        this.#useMemory(
          `cannot use the blob-info cache ${this.path}: ${errorText(e)}; using an in-memory cache instead ` +
            "(check that its directory can be created and written, or delete the file if it is damaged)",
          e,
        );
      }
      return undefined;
    }
  }

  #read<R>(doing: string, fromFile: (r: BlobInfoCacheReader) => R, fromMemory: (m: MemoryBlobInfoCache) => R, callerFailed?: () => boolean): R {
    const conn = this.#connection();
    if (conn === undefined) return fromMemory(this.#fallback!);
    try {
      const reader = withPending(conn.saved, this.#pending);
      return conn.db.transaction(() => fromFile(reader)).deferred();
    } catch (e) {
      if (callerFailed?.() === true) throw e;
      this.#failed(doing, e);
      return fromMemory(this.#fallback!);
    }
  }

  #write(
    doing: string,
    toPending: (p: PendingWrites) => void,
    toFile: (s: Statements) => unknown,
    toMemory: (m: MemoryBlobInfoCache) => void,
  ): void {
    if (this.#pending !== undefined) {
      toPending(this.#pending);
      return;
    }
    const conn = this.#connection();
    if (conn === undefined) {
      toMemory(this.#fallback!);
      return;
    }
    try {
      retryWhileBusy(() => toFile(conn.s), this.#timeoutMs);
    } catch (e) {
      this.#failed(doing, e);
      toMemory(this.#fallback!);
    }
  }

  #save(pending: PendingWrites): void {
    const conn = this.#connection();
    if (conn === undefined) {
      pending.replayInto(this.#fallback!);
      return;
    }
    try {
      const { db, s } = conn;
      retryWhileBusy(
        () =>
          db
            .transaction(() => {
              for (const [d, u] of pending.pairs) s.putPair.run(d, u);
              for (const [d, c] of pending.compressors) {
                if (c === UNKNOWN_COMPRESSION) s.deleteCompressor.run(d);
                else s.putCompressor.run(d, c);
              }
              for (const l of pending.locations()) s.putLocation.run(l.transport, l.scope, l.digest, l.location, l.lastSeen);
            })
            .immediate(),
        this.#timeoutMs,
      );
    } catch (e) {
      this.#failed("saving a batch of records", e);
      pending.replayInto(this.#fallback!);
    }
  }

  /** The file failed after it was opened: carry on in memory with what is pending. */
  #failed(doing: string, cause: unknown): void {
    if (this.#fallback !== undefined) return;
    this.#useMemory(
      `the blob-info cache ${this.path} failed while ${doing}: ${errorText(cause)}; using an in-memory cache for the rest of this process`,
      cause,
    );
  }

  #useMemory(message: string, cause?: unknown): void {
    if (this.#fallback !== undefined) return;
    const memory = createMemoryCache({ now: this.#now });
    this.#pending?.replayInto(memory);
    this.#pending = undefined;
    this.#fallback = memory;
    const conn = this.#conn;
    this.#conn = undefined;
    if (conn !== undefined) {
      try {
        conn.db.close();
      } catch {
        // Already broken; nothing more to release.
      }
    }
    const warning: SqliteCacheWarning = { message, path: this.path };
    if (cause !== undefined) warning.cause = cause;
    try {
      this.#onWarning?.(warning);
    } catch {
      // A failing warning callback must not turn an advisory cache into a failing copy.
    }
  }
}

/**
 * Opens (creating it and its directory when missing) the SQLite blob-info
 * cache at `path`. Never throws: a file that cannot be used gives a cache
 * that works in memory and reports why through `options.onWarning`.
 * better-sqlite3 is loaded by the first call, not when this package is
 * imported.
 */
export function openSqliteCache(path: string, options: SqliteCacheOptions = {}): SqliteBlobInfoCache {
  return new SqliteBlobInfoCache(path, options);
}
