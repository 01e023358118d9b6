import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InvalidConfigurationError, type Digest } from "@stevedore/types";
import {
  CACHE_FILE_NAME,
  createDefaultCache,
  defaultSqliteCacheDir,
  defaultSqliteCachePath,
  type SqliteCacheWarning,
} from "@stevedore/blobinfocache-sqlite";
import { describe, expect, test } from "vitest";

describe("defaultSqliteCachePath()", () => {
  test("returns the file in ctx.blobInfoCacheDir when it is set", () => {
    expect(defaultSqliteCachePath({ blobInfoCacheDir: "/srv/cache", env: {} }, { isRoot: false })).toBe(
      "/srv/cache/stevedore-blob-info-cache-v1.sqlite",
    );
    expect(defaultSqliteCachePath({ blobInfoCacheDir: "/srv/cache", rootForImplicitAbsolutePaths: "/mnt" }, { isRoot: true })).toBe(
      "/srv/cache/stevedore-blob-info-cache-v1.sqlite",
    );
  });

  test("returns /var/lib/containers/cache for root, under rootForImplicitAbsolutePaths when set", () => {
    expect(defaultSqliteCachePath({ env: { HOME: "/root" } }, { isRoot: true })).toBe(
      "/var/lib/containers/cache/stevedore-blob-info-cache-v1.sqlite",
    );
    expect(defaultSqliteCacheDir({ rootForImplicitAbsolutePaths: "/mnt/chroot", env: {} }, { isRoot: true })).toBe(
      "/mnt/chroot/var/lib/containers/cache",
    );
  });

  test("returns $XDG_DATA_HOME/containers/cache for a user when XDG_DATA_HOME is set", () => {
    expect(defaultSqliteCacheDir({ env: { XDG_DATA_HOME: "/home/u/data", HOME: "/home/u" } }, { isRoot: false })).toBe(
      "/home/u/data/containers/cache",
    );
  });

  test("returns $HOME/.local/share/containers/cache for a user without XDG_DATA_HOME", () => {
    expect(defaultSqliteCacheDir({ env: { HOME: "/home/u", XDG_DATA_HOME: "" } }, { isRoot: false })).toBe(
      "/home/u/.local/share/containers/cache",
    );
    expect(defaultSqliteCacheDir({ env: { HOME: "/home/u" }, homeDir: "/home/other" }, { isRoot: false })).toBe(
      "/home/other/.local/share/containers/cache",
    );
  });

  test("treats _CONTAINERS_ROOTLESS_UID as the user when deciding between root and user paths", () => {
    expect(defaultSqliteCacheDir({ env: { _CONTAINERS_ROOTLESS_UID: "1000", HOME: "/home/u" } })).toBe(
      "/home/u/.local/share/containers/cache",
    );
    expect(defaultSqliteCacheDir({ env: { _CONTAINERS_ROOTLESS_UID: "0", HOME: "/home/u" } })).toBe("/var/lib/containers/cache");
  });

  test("throws InvalidConfigurationError for a user with neither XDG_DATA_HOME nor HOME", () => {
    expect(() => defaultSqliteCachePath({ env: {} }, { isRoot: false })).toThrow(InvalidConfigurationError);
    expect(() => defaultSqliteCachePath({ env: {} }, { isRoot: false })).toThrow(/neither XDG_DATA_HOME nor HOME/);
  });

  test("names the file stevedore-blob-info-cache-v1.sqlite", () => {
    expect(CACHE_FILE_NAME).toBe("stevedore-blob-info-cache-v1.sqlite");
  });
});

describe("createDefaultCache()", () => {
  const A = `sha256:${"3".repeat(64)}` as Digest;
  const U = `sha256:${"2".repeat(64)}` as Digest;

  test("creates the sqlite file in the default directory", () => {
    const dir = mkdtempSync(join(tmpdir(), "stevedore-bic-default-"));
    try {
      const warnings: SqliteCacheWarning[] = [];
      const cache = createDefaultCache({ env: { XDG_DATA_HOME: dir } }, { isRoot: false, onWarning: (w) => warnings.push(w) });
      cache.recordDigestUncompressedPair(A, U);
      cache.dispose();
      expect(cache.backend).toBe("sqlite");
      expect(cache.path).toBe(join(dir, "containers", "cache", CACHE_FILE_NAME));
      expect(existsSync(cache.path)).toBe(true);
      expect(warnings).toEqual([]);
      const again = createDefaultCache({ env: { XDG_DATA_HOME: dir } }, { isRoot: false });
      expect(again.uncompressedDigest(A)).toBe(U);
      again.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("without any usable directory returns a working memory cache and warns", () => {
    const warnings: SqliteCacheWarning[] = [];
    const cache = createDefaultCache({ env: {} }, { isRoot: false, onWarning: (w) => warnings.push(w) });
    expect(cache.backend).toBe("memory");
    expect(cache.path).toBe("");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/neither XDG_DATA_HOME nor HOME.*in-memory/);
    expect(warnings[0]?.cause).toBeInstanceOf(InvalidConfigurationError);
    cache.recordDigestUncompressedPair(A, U);
    expect(cache.uncompressedDigest(A)).toBe(U);
  });
});
