import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  DigestMismatchError,
  InvalidDigestError,
  SizeMismatchError,
  createDigester,
  digestAlgorithm,
  digestHex,
  digestOf,
  isDigest,
  keepVerification,
  measureStream,
  parseDigest,
  readAll,
  streamOf,
  utf8,
  verifiedContent,
  verifyStream,
  type Digest,
} from "@stevedore/types";

const hex64 = "a".repeat(64);

describe("parseDigest()", () => {
  test.each([
    [`sha256:${hex64}`],
    [`sha384:${"0".repeat(96)}`],
    [`sha512:${"f".repeat(128)}`],
  ])("accepts %s", (d) => {
    expect(parseDigest(d)).toBe(d);
    expect(isDigest(d)).toBe(true);
  });

  test.each([
    ["", /expected "algorithm:hex"/],
    [hex64, /expected "algorithm:hex"/],
    [`:${hex64}`, /expected "algorithm:hex"/],
    [`sha256:${"A".repeat(64)}`, /hex must be lowercase/],
    [`sha256:${"g".repeat(64)}`, /not hexadecimal/],
    [`sha256:${"a".repeat(63)}`, /sha256 needs 64 hex characters, got 63/],
    [`sha256:${"a".repeat(65)}`, /needs 64 hex characters, got 65/],
    [`sha512:${hex64}`, /sha512 needs 128 hex characters, got 64/],
    [`md5:${"a".repeat(32)}`, /unsupported algorithm "md5"/],
    [`SHA256:${hex64}`, /malformed algorithm/],
    [`sha256:../../etc/passwd`, /not hexadecimal/],
  ])("rejects %j with a message naming the problem", (d, msg) => {
    expect(() => parseDigest(d)).toThrow(InvalidDigestError);
    expect(() => parseDigest(d)).toThrow(msg);
    expect(isDigest(d)).toBe(false);
  });

  test("rejects non-strings", () => {
    expect(() => parseDigest(42)).toThrow(/not a string/);
    expect(() => parseDigest(undefined)).toThrow(InvalidDigestError);
  });

  test("names the input, truncated when long", () => {
    const long = "sha256:" + "z".repeat(500);
    expect(() => parseDigest(long)).toThrow(/"sha256:z+…"/);
  });

  test("never throws anything but InvalidDigestError (property)", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          expect(parseDigest(s)).toBe(s);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidDigestError);
        }
      }),
    );
  });

  test("digestAlgorithm() and digestHex() split a digest", () => {
    const d = parseDigest(`sha384:${"1".repeat(96)}`);
    expect(digestAlgorithm(d)).toBe("sha384");
    expect(digestHex(d)).toBe("1".repeat(96));
  });
});

describe("digestOf() and createDigester()", () => {
  test.each(["sha256", "sha384", "sha512"] as const)("%s matches node:crypto", (alg) => {
    const data = utf8("hello, stevedore");
    expect(digestOf(data, alg)).toBe(`${alg}:${createHash(alg).update(data).digest("hex")}`);
  });

  test("the browser implementation (no node:crypto) gives the same digests", async () => {
    const specifier = "../dist/internal/hash-web.js";
    const web = (await import(/* @vite-ignore */ specifier)) as {
      createHasher(a: string): { update(c: Uint8Array): void; digestHex(): string };
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.constantFrom("sha256", "sha384", "sha512"), (data, alg) => {
        const h = web.createHasher(alg);
        h.update(data.subarray(0, 7));
        h.update(data.subarray(7));
        expect(h.digestHex()).toBe(createHash(alg).update(data).digest("hex"));
      }),
    );
  });

  test("incremental updates equal one-shot", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }), (parts) => {
        const d = createDigester();
        for (const p of parts) d.update(p);
        const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
        let o = 0;
        for (const p of parts) {
          all.set(p, o);
          o += p.length;
        }
        expect(d.digest()).toBe(digestOf(all));
      }),
    );
  });
});

function chunks(...sizes: number[]): Uint8Array[] {
  let v = 0;
  return sizes.map((n) => Uint8Array.from({ length: n }, () => v++ & 0xff));
}
function joined(cs: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(cs.reduce((n, c) => n + c.length, 0));
  let o = 0;
  for (const c of cs) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

describe("verifyStream()", () => {
  const cs = chunks(10, 20, 30);
  const all = joined(cs);
  const digest = digestOf(all);

  test("passes matching content through unchanged", async () => {
    const out = await readAll(verifyStream(streamOf(...cs), { digest, size: 60 }));
    expect(out).toEqual(all);
  });

  test("accepts an unknown size (-1)", async () => {
    const out = await readAll(verifyStream(streamOf(...cs), { digest, size: -1 }));
    expect(out.length).toBe(60);
  });

  test("fails on a digest mismatch before releasing the last chunk", async () => {
    const wrong = digestOf(utf8("other"));
    const seen: number[] = [];
    const run = async () => {
      for await (const c of verifyStream(streamOf(...cs), { digest: wrong, size: 60 }, { what: "layer 1" })) seen.push(c.length);
    };
    await expect(run()).rejects.toThrow(DigestMismatchError);
    await expect(
      readAll(verifyStream(streamOf(...cs), { digest: wrong, size: 60 }, { what: "layer 1" })),
    ).rejects.toThrow(/layer 1: expected sha256:[0-9a-f]{64}, got sha256:/);
    // The final chunk (30 bytes) was never handed on.
    expect(seen).toEqual([10, 20]);
  });

  test("fails as soon as the content is longer than expected", async () => {
    let pulled = 0;
    async function* endless() {
      for (;;) {
        pulled++;
        yield new Uint8Array(16);
      }
    }
    await expect(readAll(verifyStream(endless(), { digest, size: 40 }))).rejects.toThrow(SizeMismatchError);
    expect(pulled).toBe(3);
  });

  test("fails when the content is shorter than expected", async () => {
    await expect(readAll(verifyStream(streamOf(...cs), { digest, size: 61 }))).rejects.toThrow(
      /expected 61 bytes, got 60/,
    );
  });

  test("refuses an invalid expected digest before reading", () => {
    expect(() => verifyStream(streamOf(), { digest: "sha256:xyz" as Digest, size: 0 })).toThrow(InvalidDigestError);
  });

  test("stops when the signal is aborted", async () => {
    const ac = new AbortController();
    const it = verifyStream(streamOf(...cs), { digest, size: 60 }, { signal: ac.signal });
    const run = async () => {
      for await (const _ of it) ac.abort();
    };
    await expect(run()).rejects.toThrow(/aborted/);
  });
});

describe("verifyStream() of a stream already being verified", () => {
  const cs = chunks(8, 8, 8);
  const digest = digestOf(joined(cs));

  test("is not hashed again but still fails when the producer finds a mismatch", async () => {
    const inner = verifyStream(streamOf(...cs), { digest, size: 24 });
    expect(verifiedContent(inner)).toEqual({ digest });
    const outer = verifyStream(inner, { digest, size: 24 });
    expect(verifiedContent(outer)).toEqual({ digest });
    expect(await readAll(outer)).toEqual(joined(cs));

    const wrong = digestOf(utf8("x"));
    const bad = verifyStream(verifyStream(streamOf(...cs), { digest: wrong, size: -1 }), { digest: wrong, size: -1 });
    await expect(readAll(bad)).rejects.toThrow(DigestMismatchError);
  });

  test("still checks the size it is given", async () => {
    const inner = verifyStream(streamOf(...cs), { digest, size: -1 });
    await expect(readAll(verifyStream(inner, { digest, size: 23 }))).rejects.toThrow(SizeMismatchError);
  });

  test("hashes when the digests differ, and keepVerification() carries the mark over a pass-through", async () => {
    const inner = verifyStream(streamOf(...cs), { digest, size: 24 });
    const other = digestOf(utf8("other"));
    await expect(readAll(verifyStream(inner, { digest: other, size: -1 }))).rejects.toThrow(DigestMismatchError);
    const src = verifyStream(streamOf(...cs), { digest, size: 24 });
    const passed = keepVerification((async function* () { yield* src; })(), src);
    expect(verifiedContent(passed)).toEqual({ digest });
    expect(verifiedContent((async function* () { yield* src; })())).toBeUndefined();
  });
});

describe("measureStream()", () => {
  test("reports digest and size after the stream ends", async () => {
    const cs = chunks(5, 7);
    let bytes = 0;
    const { stream, result } = measureStream(streamOf(...cs), "sha512", { onBytes: (n) => (bytes += n) });
    expect(await readAll(stream)).toEqual(joined(cs));
    expect(await result).toEqual({ digest: digestOf(joined(cs), "sha512"), size: 12 });
    expect(bytes).toBe(12);
  });

  test("rejects the result when the stream fails", async () => {
    async function* broken() {
      yield new Uint8Array(3);
      throw new Error("connection reset");
    }
    const { stream, result } = measureStream(broken());
    await expect(readAll(stream)).rejects.toThrow("connection reset");
    await expect(result).rejects.toThrow("connection reset");
  });
});
