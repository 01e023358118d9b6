import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { blobInfoCacheConformance } from "@stevedore/testing";
import type { BlobInfoCache, Digest } from "@stevedore/types";
import { SqliteBlobInfoCache, openSqliteCache, type SqliteCacheWarning } from "@stevedore/blobinfocache-sqlite";
import { afterEach, describe, expect, test } from "vitest";

const require = createRequire(import.meta.url);
const Database = require("better-sqlite3") as new (path: string) => {
  exec(sql: string): void;
  pragma(s: string, o?: { simple: boolean }): unknown;
  prepare(sql: string): { all(...p: unknown[]): unknown[]; run(...p: unknown[]): unknown };
  close(): void;
};

const d = (c: string): Digest => `sha256:${c.repeat(64)}` as Digest;
const U = d("2");
const A = d("3");
const B = d("4");
const T = "docker";
const S = "registry.test";

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "stevedore-bic-sqlite-"));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// The suite runs against real files; a silent fall back to memory would hide sqlite bugs, so it fails the test.
const suiteWarnings = new Map<BlobInfoCache, SqliteCacheWarning[]>();
blobInfoCacheConformance(
  { describe, test, expect },
  "sqlite",
  (clock) => {
    const warnings: SqliteCacheWarning[] = [];
    const dir = mkdtempSync(join(tmpdir(), "stevedore-bic-suite-"));
    const cache = openSqliteCache(join(dir, "cache.sqlite"), { now: () => clock.now(), onWarning: (w) => warnings.push(w) });
    suiteWarnings.set(cache, warnings);
    return cache;
  },
  {
    cleanup: (cache) => {
      const c = cache as SqliteBlobInfoCache;
      const warnings = suiteWarnings.get(cache);
      suiteWarnings.delete(cache);
      const backend = c.backend;
      c.dispose();
      rmSync(dirname(c.path), { recursive: true, force: true });
      expect(warnings).toEqual([]);
      expect(backend).toBe("sqlite");
    },
  },
);

function open(path: string, warnings: SqliteCacheWarning[] = [], now?: () => Date): SqliteBlobInfoCache {
  return openSqliteCache(path, { onWarning: (w) => warnings.push(w), ...(now ? { now } : {}) });
}

describe("openSqliteCache() persistence", () => {
  test("records survive dispose() and a new openSqliteCache() of the same file", () => {
    const path = join(tempDir(), "nested", "dir", "cache.sqlite");
    let t = Date.UTC(2024, 5, 1);
    const now = (): Date => new Date((t += 1000));
    const first = open(path, [], now);
    first.recordDigestUncompressedPair(A, U);
    first.recordDigestUncompressedPair(B, U);
    first.recordDigestCompressorName(A, "gzip");
    first.recordDigestCompressorName(B, "zstd");
    first.recordKnownLocation(T, S, A, "library/a");
    first.recordKnownLocation(T, S, B, "library/b");
    const before = first.candidateLocations(T, S, A, { canSubstitute: true });
    first.dispose();
    expect(statSync(path).isFile()).toBe(true);

    const warnings: SqliteCacheWarning[] = [];
    const second = open(path, warnings);
    try {
      expect(second.backend).toBe("sqlite");
      expect(second.uncompressedDigest(A)).toBe(U);
      expect(second.uncompressedDigest(U)).toBe(U);
      const after = second.candidateLocations(T, S, A, { canSubstitute: true });
      expect(after).toEqual(before);
      expect(after.map((c) => [c.digest, c.compressorName, c.location])).toEqual([
        [A, "gzip", "library/a"],
        [B, "zstd", "library/b"],
      ]);
      expect(warnings).toEqual([]);
    } finally {
      second.dispose();
    }
  });

  test("a disposed cache opens its file again on the next call", () => {
    const path = join(tempDir(), "cache.sqlite");
    const cache = open(path);
    cache.recordDigestUncompressedPair(A, U);
    cache.dispose();
    expect(cache.uncompressedDigest(A)).toBe(U);
    cache.recordDigestUncompressedPair(B, U);
    cache.dispose();
    const other = open(path);
    expect(other.uncompressedDigest(B)).toBe(U);
    expect(other.backend).toBe("sqlite");
    other.dispose();
  });

  test("the file records Stevedore's application id and schema version 1, in WAL mode", () => {
    const path = join(tempDir(), "cache.sqlite");
    open(path).dispose();
    const db = new Database(path);
    try {
      expect(db.pragma("application_id", { simple: true })).toBe(0x53746576);
      expect(db.pragma("user_version", { simple: true })).toBe(1);
      expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    } finally {
      db.close();
    }
  });
});

describe("open()/close() batching", () => {
  test("records inside open() are visible to lookups before close(), and saved for other readers only by close()", () => {
    const path = join(tempDir(), "cache.sqlite");
    const writer = open(path);
    const reader = open(path);
    try {
      writer.open();
      writer.recordDigestUncompressedPair(A, U);
      writer.recordDigestCompressorName(A, "gzip");
      writer.recordKnownLocation(T, S, A, "library/a");
      expect(writer.uncompressedDigest(A)).toBe(U);
      expect(writer.candidateLocations(T, S, U, { canSubstitute: true }).map((c) => c.location)).toEqual(["library/a"]);
      expect(reader.uncompressedDigest(A)).toBeUndefined();
      expect(reader.candidateLocations(T, S, A, { canSubstitute: false })).toEqual([]);
      writer.close();
      expect(reader.uncompressedDigest(A)).toBe(U);
      expect(reader.candidateLocations(T, S, U, { canSubstitute: true }).map((c) => [c.location, c.compressorName])).toEqual([
        ["library/a", "gzip"],
      ]);
    } finally {
      writer.dispose();
      reader.dispose();
    }
  });

  test("records made outside open()/close() are saved at once", () => {
    const path = join(tempDir(), "cache.sqlite");
    const writer = open(path);
    const reader = open(path);
    try {
      writer.recordDigestUncompressedPair(A, U);
      expect(reader.uncompressedDigest(A)).toBe(U);
      writer.recordDigestCompressorName(A, "gzip");
      writer.recordKnownLocation(T, S, A, "library/a");
      expect(reader.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => c.compressorName)).toEqual(["gzip"]);
    } finally {
      writer.dispose();
      reader.dispose();
    }
  });

  test("a nested close() saves nothing; the outermost close() saves everything", () => {
    const path = join(tempDir(), "cache.sqlite");
    const writer = open(path);
    const reader = open(path);
    try {
      writer.open();
      writer.recordDigestUncompressedPair(A, U);
      writer.open();
      writer.recordDigestUncompressedPair(B, U);
      writer.close();
      expect(reader.uncompressedDigest(A)).toBeUndefined();
      expect(reader.uncompressedDigest(B)).toBeUndefined();
      writer.close();
      expect(reader.uncompressedDigest(A)).toBe(U);
      expect(reader.uncompressedDigest(B)).toBe(U);
    } finally {
      writer.dispose();
      reader.dispose();
    }
  });

  test("a batch that forgets a compressor deletes the saved one on close()", () => {
    const path = join(tempDir(), "cache.sqlite");
    const writer = open(path);
    const reader = open(path);
    try {
      writer.recordDigestCompressorName(A, "gzip");
      writer.recordKnownLocation(T, S, A, "library/a");
      writer.open();
      writer.recordDigestCompressorName(A, "unknown");
      expect(writer.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => c.compressorName)).toEqual(["unknown"]);
      expect(reader.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => c.compressorName)).toEqual(["gzip"]);
      writer.close();
      expect(reader.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => c.compressorName)).toEqual(["unknown"]);
    } finally {
      writer.dispose();
      reader.dispose();
    }
  });

  test("dispose() inside a batch saves what is pending", () => {
    const path = join(tempDir(), "cache.sqlite");
    const writer = open(path);
    writer.open();
    writer.recordDigestUncompressedPair(A, U);
    writer.dispose();
    const reader = open(path);
    expect(reader.uncompressedDigest(A)).toBe(U);
    reader.dispose();
    writer.close();
  });

  test("a location recorded in a batch keeps the newer of its saved and pending times", () => {
    const path = join(tempDir(), "cache.sqlite");
    let t = 1_000_000;
    const cache = open(path, [], () => new Date(t));
    try {
      cache.recordKnownLocation(T, S, A, "library/a");
      t = 5_000_000;
      cache.recordKnownLocation(T, S, A, "library/b");
      cache.open();
      t = 9_000_000;
      cache.recordKnownLocation(T, S, A, "library/a");
      expect(cache.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => [c.location, c.lastSeen?.getTime()])).toEqual([
        ["library/a", 9_000_000],
        ["library/b", 5_000_000],
      ]);
      cache.close();
      t = 2_000_000;
      cache.recordKnownLocation(T, S, A, "library/b");
      expect(cache.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => [c.location, c.lastSeen?.getTime()])).toEqual([
        ["library/a", 9_000_000],
        ["library/b", 5_000_000],
      ]);
    } finally {
      cache.dispose();
    }
  });
});

describe("openSqliteCache() with a file it cannot use", () => {
  function expectMemoryFallback(cache: SqliteBlobInfoCache, warnings: SqliteCacheWarning[], mentions: RegExp): void {
    expect(cache.backend).toBe("memory");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(mentions);
    expect(warnings[0]?.path).toBe(cache.path);
    // It still works, in memory.
    cache.recordDigestUncompressedPair(A, U);
    cache.recordDigestCompressorName(A, "gzip");
    cache.recordKnownLocation(T, S, A, "library/a");
    expect(cache.uncompressedDigest(A)).toBe(U);
    expect(cache.candidateLocations(T, S, U, { canSubstitute: true }).map((c) => c.location)).toEqual(["library/a"]);
    expect(warnings).toHaveLength(1);
  }

  test("a file of random bytes falls back to memory with a warning and is left untouched", () => {
    const path = join(tempDir(), "cache.sqlite");
    const junk = new Uint8Array(8192).map((_, i) => (i * 7919 + 13) % 251);
    writeFileSync(path, junk);
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(path, warnings);
    expectMemoryFallback(cache, warnings, /cache\.sqlite.*not a database/);
    expect(warnings[0]?.cause).toBeInstanceOf(Error);
    cache.dispose();
    expect(new Uint8Array(readFileSync(path))).toEqual(junk);
  });

  test("a directory that cannot be created falls back to memory with a warning", () => {
    const dir = tempDir();
    writeFileSync(join(dir, "file"), "not a directory");
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(join(dir, "file", "sub", "cache.sqlite"), warnings);
    expectMemoryFallback(cache, warnings, /file\/sub\/cache\.sqlite.*(ENOTDIR|not a directory)/);
  });

  test("a path that is a directory falls back to memory with a warning", () => {
    const dir = tempDir();
    mkdirSync(join(dir, "cache.sqlite"));
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(join(dir, "cache.sqlite"), warnings);
    expectMemoryFallback(cache, warnings, /cache\.sqlite/);
  });

  test("a cache with a newer schema version falls back to memory and is not changed", () => {
    const path = join(tempDir(), "cache.sqlite");
    const db = new Database(path);
    db.exec(`CREATE TABLE future (x TEXT); PRAGMA application_id = ${0x53746576}; PRAGMA user_version = 7;`);
    db.close();
    const bytes = readFileSync(path);
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(path, warnings);
    expectMemoryFallback(cache, warnings, /schema version 7, newer than this Stevedore reads \(1\)/);
    cache.dispose();
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  test("another application's SQLite database falls back to memory and is not changed", () => {
    const path = join(tempDir(), "other.db");
    const db = new Database(path);
    db.exec("CREATE TABLE customers (name TEXT); INSERT INTO customers VALUES ('x');");
    db.close();
    const bytes = readFileSync(path);
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(path, warnings);
    expectMemoryFallback(cache, warnings, /other\.db is not a Stevedore blob-info cache/);
    cache.dispose();
    expect(readFileSync(path).equals(bytes)).toBe(true);
  });

  test("a damaged page met by a later lookup falls back to memory with one warning, keeping the batch", () => {
    const path = join(tempDir(), "cache.sqlite");
    const setup = open(path);
    for (let i = 0; i < 300; i++) setup.recordKnownLocation(T, S, A, `library/repo-${i}`);
    setup.dispose();
    const bytes = readFileSync(path);
    const pageSize = bytes.readUInt16BE(16);
    for (let i = pageSize; i < bytes.length; i++) bytes[i] = 0xa5;
    writeFileSync(path, bytes);

    const warnings: SqliteCacheWarning[] = [];
    const cache = open(path, warnings);
    cache.open();
    cache.recordDigestUncompressedPair(B, U);
    expect(() => cache.candidateLocations(T, S, A, { canSubstitute: true })).not.toThrow();
    expect(() => cache.uncompressedDigest(A)).not.toThrow();
    expect(cache.backend).toBe("memory");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/cache\.sqlite/);
    // What the batch had recorded is still known.
    expect(cache.uncompressedDigest(B)).toBe(U);
    cache.close();
    cache.dispose();
  });

  test("a warning callback that throws does not make the cache throw", () => {
    const path = join(tempDir(), "cache.sqlite");
    writeFileSync(path, "garbage, not sqlite ".repeat(400));
    let calls = 0;
    const cache = openSqliteCache(path, {
      onWarning: () => {
        calls++;
        throw new Error("callback failure");
      },
    });
    expect(calls).toBe(1);
    expect(cache.backend).toBe("memory");
    expect(() => cache.recordDigestUncompressedPair(A, U)).not.toThrow();
    expect(cache.uncompressedDigest(A)).toBe(U);
  });
});

describe("SqliteBlobInfoCache.candidateLocations()", () => {
  test("an exception thrown by acceptCompression reaches the caller and the file stays in use", () => {
    const path = join(tempDir(), "cache.sqlite");
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(path, warnings);
    try {
      cache.recordDigestCompressorName(A, "gzip");
      cache.recordKnownLocation(T, S, A, "library/a");
      const boom = new Error("caller's filter failed");
      expect(() =>
        cache.candidateLocations(T, S, A, {
          canSubstitute: false,
          acceptCompression: () => {
            throw boom;
          },
        }),
      ).toThrow(boom);
      expect(cache.backend).toBe("sqlite");
      expect(warnings).toEqual([]);
      expect(cache.candidateLocations(T, S, A, { canSubstitute: false }).map((c) => c.location)).toEqual(["library/a"]);
    } finally {
      cache.dispose();
    }
  });

  test("rows that are not well-formed in the file are ignored", () => {
    const path = join(tempDir(), "cache.sqlite");
    open(path).dispose();
    const db = new Database(path);
    db.prepare("INSERT INTO digest_uncompressed VALUES (?, ?)").run(A, "not-a-digest");
    db.prepare("INSERT INTO digest_uncompressed VALUES (?, ?)").run("garbage", U);
    db.prepare("INSERT INTO digest_uncompressed VALUES (?, ?)").run(B, U);
    db.prepare("INSERT INTO digest_compressor VALUES (?, ?)").run(B, "");
    db.prepare("INSERT INTO known_location VALUES (?, ?, ?, ?, ?)").run(T, S, B, "library/b", "yesterday");
    db.prepare("INSERT INTO known_location VALUES (?, ?, ?, ?, ?)").run(T, S, B, "", 5);
    db.prepare("INSERT INTO known_location VALUES (?, ?, ?, ?, ?)").run(T, S, B, "library/ok", 7);
    db.close();
    const warnings: SqliteCacheWarning[] = [];
    const cache = open(path, warnings);
    try {
      expect(cache.uncompressedDigest(A)).toBeUndefined();
      expect(cache.uncompressedDigest(B)).toBe(U);
      expect(cache.candidateLocations(T, S, B, { canSubstitute: false }).map((c) => [c.location, c.compressorName])).toEqual([
        ["library/ok", "unknown"],
      ]);
      expect(warnings).toEqual([]);
    } finally {
      cache.dispose();
    }
  });
});

describe("@stevedore/blobinfocache-sqlite loading", () => {
  test("importing the package does not load better-sqlite3; openSqliteCache() does", () => {
    const dir = tempDir();
    const script = `
      import { createRequire } from "node:module";
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes("better-sqlite3"));
      const { openSqliteCache } = await import("@stevedore/blobinfocache-sqlite");
      const before = loaded();
      const cache = openSqliteCache(${JSON.stringify(join(dir, "c.sqlite"))});
      const after = loaded();
      cache.dispose();
      console.log(JSON.stringify({ before, after, backend: cache.backend }));
    `;
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      cwd: join(import.meta.dirname, ".."),
      encoding: "utf8",
    });
    expect(JSON.parse(out)).toEqual({ before: false, after: true, backend: "sqlite" });
  });
});
