import type { Database } from "./driver.js";
import { retryWhileBusy } from "./driver.js";

/** `PRAGMA application_id` of a Stevedore blob-info cache ("Stev"). */
export const APPLICATION_ID = 0x53746576;
/** The schema version this code reads and writes (`PRAGMA user_version`). */
export const SCHEMA_VERSION = 1;

const SCHEMA_V1 = `
CREATE TABLE digest_uncompressed (
  any_digest          TEXT PRIMARY KEY NOT NULL,
  uncompressed_digest TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX digest_uncompressed_by_uncompressed ON digest_uncompressed (uncompressed_digest);
CREATE TABLE digest_compressor (
  digest     TEXT PRIMARY KEY NOT NULL,
  compressor TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE known_location (
  transport TEXT NOT NULL,
  scope     TEXT NOT NULL,
  digest    TEXT NOT NULL,
  location  TEXT NOT NULL,
  last_seen INTEGER NOT NULL,
  PRIMARY KEY (transport, scope, digest, location)
) WITHOUT ROWID;
PRAGMA application_id = ${APPLICATION_ID};
PRAGMA user_version = ${SCHEMA_VERSION};
`;

/** What an opened file turned out to be. */
export type FileState =
  | { kind: "current" }
  | { kind: "empty" }
  | { kind: "newer"; version: number }
  | { kind: "foreign" };

function inspect(db: Database): FileState {
  const appId = Number(db.pragma("application_id", { simple: true }));
  const version = Number(db.pragma("user_version", { simple: true }));
  if (appId === APPLICATION_ID) {
    if (version === SCHEMA_VERSION) return { kind: "current" };
    if (version > SCHEMA_VERSION) return { kind: "newer", version };
    return { kind: "foreign" };
  }
  if (appId === 0 && version === 0) {
    const row = db.prepare("SELECT count(*) AS n FROM sqlite_schema").get() as { n: number };
    if (row.n === 0) return { kind: "empty" };
  }
  return { kind: "foreign" };
}

/**
 * Makes `db` ready: creates the schema in an empty file (safely when several
 * processes do it at once), turns on WAL so readers and one writer proceed
 * together, and reports a file this code must not touch (another
 * application's database, or a newer schema). Throws SQLite's errors (a
 * corrupt file, a file that is not a database).
 */
export function prepareSchema(db: Database, timeoutMs: number): FileState {
  let state = retryWhileBusy(() => inspect(db), timeoutMs);
  if (state.kind === "newer" || state.kind === "foreign") return state;
  retryWhileBusy(() => db.pragma("journal_mode = WAL"), timeoutMs);
  db.pragma("synchronous = NORMAL");
  if (state.kind === "empty") {
    state = retryWhileBusy(
      () =>
        db
          .transaction((): FileState => {
            const now = inspect(db);
            if (now.kind !== "empty") return now;
            db.exec(SCHEMA_V1);
            return { kind: "current" };
          })
          .immediate(),
      timeoutMs,
    );
  }
  return state;
}
