import { createRequire } from "node:module";

/** The part of a better-sqlite3 statement this package uses. */
export interface Statement {
  run(...params: unknown[]): unknown;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** A better-sqlite3 transaction function with its locking variants. */
export interface TransactionFunction<R> {
  (): R;
  deferred(): R;
  immediate(): R;
}

/** The part of a better-sqlite3 database this package uses. */
export interface Database {
  prepare(sql: string): Statement;
  exec(sql: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  transaction<R>(fn: () => R): TransactionFunction<R>;
  close(): unknown;
  readonly open: boolean;
}

/** The better-sqlite3 constructor. */
export type DatabaseConstructor = new (filename: string, options?: { timeout?: number; fileMustExist?: boolean }) => Database;

let loaded: DatabaseConstructor | undefined;

/**
 * better-sqlite3, loaded on first use (it is a native addon: importing this
 * package must stay cheap). Throws what `require` throws when it is missing.
 */
export function loadDriver(): DatabaseConstructor {
  if (loaded === undefined) {
    const require = createRequire(import.meta.url);
    loaded = require("better-sqlite3") as DatabaseConstructor;
  }
  return loaded;
}

/** SQLite's result code of a better-sqlite3 error (`SQLITE_BUSY`, …), if it is one. */
export function sqliteCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.startsWith("SQLITE_") ? code : undefined;
}

/** Whether `e` says another connection holds a lock. */
export function isBusy(e: unknown): boolean {
  const code = sqliteCode(e);
  return code !== undefined && (code.startsWith("SQLITE_BUSY") || code.startsWith("SQLITE_LOCKED"));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

/**
 * Runs `fn`, retrying while SQLite reports a lock held elsewhere, until
 * `timeoutMs` has passed. SQLite's busy handler covers most waits; this
 * covers the few that bypass it (journal-mode changes, WAL recovery).
 */
export function retryWhileBusy<R>(fn: () => R, timeoutMs: number): R {
  const deadline = Date.now() + timeoutMs;
  let pause = 5;
  for (;;) {
    try {
      return fn();
    } catch (e) {
      if (!isBusy(e) || Date.now() >= deadline) throw e;
      Atomics.wait(sleeper, 0, 0, pause);
      pause = Math.min(pause * 2, 100);
    }
  }
}
