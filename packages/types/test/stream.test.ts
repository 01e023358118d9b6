import { describe, expect, test } from "vitest";
import { SizeLimitExceededError, SizeLimits, concatBytes, drain, fromUtf8, readAll, streamOf, utf8 } from "@stevedore/types";

describe("readAll()", () => {
  test("concatenates every chunk", async () => {
    expect(fromUtf8(await readAll(streamOf(utf8("ab"), utf8(""), utf8("cd"))))).toBe("abcd");
  });

  test("fails as soon as the limit is exceeded, naming the thing", async () => {
    let pulled = 0;
    async function* big() {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield new Uint8Array(1024);
      }
    }
    await expect(readAll(big(), { limit: 4096, what: "manifest of docker://x" })).rejects.toThrow(SizeLimitExceededError);
    expect(pulled).toBeLessThanOrEqual(10);
    await expect(readAll(big(), { limit: 4096, what: "manifest of docker://x" })).rejects.toThrow(
      "manifest of docker://x is larger than the limit of 4096 bytes",
    );
  });

  test("accepts content exactly at the limit", async () => {
    expect((await readAll(streamOf(new Uint8Array(SizeLimits.token)), { limit: SizeLimits.token })).length).toBe(SizeLimits.token);
  });
});

describe("helpers", () => {
  test("concatBytes() joins arrays in order", () => {
    expect([...concatBytes([Uint8Array.of(1), Uint8Array.of(2, 3), Uint8Array.of()])]).toEqual([1, 2, 3]);
  });

  test("drain() consumes a stream to its end", async () => {
    let n = 0;
    async function* s() {
      for (; n < 5; n++) yield new Uint8Array(1);
    }
    await drain(s());
    expect(n).toBe(5);
  });

  test("fromUtf8() rejects invalid UTF-8", () => {
    expect(() => fromUtf8(Uint8Array.of(0xff, 0xfe))).toThrow();
  });
});
