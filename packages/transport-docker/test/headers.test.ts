// The header parsers are internal; they are imported from src
// because the registry client's behaviour depends on their corner cases.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  formatScope,
  parseChallenges,
  parseContentRange,
  parseNextLink,
  parseRetryAfter,
  parseScope,
} from "../src/internal/headers.js";
import { redactURL } from "../src/internal/redact.js";

describe("parseChallenges()", () => {
  test("parseChallenges() reads a Bearer challenge with realm, service and scope", () => {
    expect(parseChallenges(['Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"'])).toEqual([
      { scheme: "bearer", params: { realm: "https://auth.example/token", service: "registry.example", scope: "repository:a/b:pull" } },
    ]);
  });

  test("parseChallenges() reads several challenges in one value and across values", () => {
    const got = parseChallenges(['Basic realm="r1", Bearer realm="https://a/t",error="insufficient_scope"', 'Foo bar=baz']);
    expect(got.map((c) => c.scheme)).toEqual(["basic", "bearer", "foo"]);
    expect(got[1]!.params).toEqual({ realm: "https://a/t", error: "insufficient_scope" });
    expect(got[2]!.params).toEqual({ bar: "baz" });
  });

  test("parseChallenges() keeps commas and escaped quotes inside quoted values", () => {
    const got = parseChallenges(['Bearer realm="https://a/t?x=1,2",scope="repository:a:pull,push",note="say \\"hi\\""']);
    expect(got[0]!.params).toEqual({ realm: "https://a/t?x=1,2", scope: "repository:a:pull,push", note: 'say "hi"' });
  });

  test("parseChallenges() lower-cases schemes and parameter names and accepts token values", () => {
    expect(parseChallenges(["BASIC Realm=registry"])).toEqual([{ scheme: "basic", params: { realm: "registry" } }]);
  });

  test("parseChallenges() accepts a token68 credential form", () => {
    expect(parseChallenges(["Negotiate dGVzdA=="])).toEqual([{ scheme: "negotiate", params: { "": "dGVzdA==" } }]);
  });

  test("parseChallenges() of garbage returns what it could parse and never throws", () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseChallenges([s]);
        expect(Array.isArray(r)).toBe(true);
      }),
    );
  });

  test("parseChallenges() round-trips generated Bearer challenges", () => {
    const value = fc.string({ maxLength: 30 }).filter((s) => !/[\u0000-\u001f]/.test(s));
    fc.assert(
      fc.property(value, value, (realm, service) => {
        const q = (s: string) => `"${s.replace(/["\\]/g, "\\$&")}"`;
        const [c] = parseChallenges([`Bearer realm=${q(realm)}, service=${q(service)}`]);
        expect(c).toEqual({ scheme: "bearer", params: { realm, service } });
      }),
    );
  });
});

describe("parseScope()", () => {
  test("parseScope() splits type, name and actions; the name may hold colons", () => {
    expect(parseScope("repository:library/busybox:pull")).toEqual({ resourceType: "repository", remoteName: "library/busybox", actions: "pull" });
    expect(parseScope("registry:catalog:*")).toEqual({ resourceType: "registry", remoteName: "catalog", actions: "*" });
    expect(parseScope("repository:host:5000/x:pull,push")?.remoteName).toBe("host:5000/x");
    expect(formatScope(parseScope("repository:a/b:pull,push")!)).toBe("repository:a/b:pull,push");
  });

  test("parseScope() refuses anything without three parts", () => {
    for (const s of ["", "repository", "repository:a", "repository::pull", "repository:a:", ":a:pull", "repository:a b:pull"]) {
      expect(parseScope(s)).toBeUndefined();
    }
  });
});

describe("parseRetryAfter()", () => {
  test("parseRetryAfter() reads delta-seconds", () => {
    expect(parseRetryAfter("3")).toBe(3000);
    expect(parseRetryAfter(" 0 ")).toBe(0);
  });

  test("parseRetryAfter() reads an HTTP-date in the future relative to now", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:28:10 GMT", now)).toBe(10_000);
  });

  test("parseRetryAfter() ignores past dates and invalid values", () => {
    const now = Date.parse("Wed, 21 Oct 2015 07:28:00 GMT");
    expect(parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now)).toBeUndefined();
    for (const v of [undefined, "", "-1", "1.5", "soon", "2015-10-21"]) expect(parseRetryAfter(v, now)).toBeUndefined();
  });
});

describe("parseNextLink()", () => {
  test("parseNextLink() finds the rel=next target among several links", () => {
    expect(parseNextLink(['</v2/a/tags/list?n=2&last=b>; rel="next"'])).toBe("/v2/a/tags/list?n=2&last=b");
    expect(parseNextLink(['<https://x/prev>; rel="prev", <https://x/next>; rel="next"'])).toBe("https://x/next");
    expect(parseNextLink(["<https://x/n>; rel=next"])).toBe("https://x/n");
  });

  test("parseNextLink() returns undefined without a next link", () => {
    expect(parseNextLink([])).toBeUndefined();
    expect(parseNextLink(['<https://x/p>; rel="prev"'])).toBeUndefined();
    expect(parseNextLink(["garbage"])).toBeUndefined();
  });
});

describe("parseContentRange()", () => {
  test("parseContentRange() reads first, last and total", () => {
    expect(parseContentRange("bytes 100-199/200")).toEqual({ first: 100, last: 199, total: 200 });
    expect(parseContentRange("bytes 5-9/*")).toEqual({ first: 5, last: 9, total: undefined });
  });

  test("parseContentRange() refuses malformed or inconsistent ranges", () => {
    for (const v of [undefined, "", "bytes */200", "bytes 10-5/20", "bytes 0-20/20", "items 0-1/2", "bytes 0-1/2, 4-5/6"]) {
      expect(parseContentRange(v)).toBeUndefined();
    }
  });
});

describe("redactURL()", () => {
  test("redactURL() drops user info and hides query values except the protocol's harmless ones", () => {
    const s = redactURL("https://user:secret@host:5000/v2/a/blobs/uploads/abc?_state=SECRET&digest=sha256:00&X-Amz-Signature=sig");
    expect(s).toBe("https://host:5000/v2/a/blobs/uploads/abc?_state=REDACTED&digest=sha256%3A00&X-Amz-Signature=REDACTED");
    expect(s).not.toContain("secret");
    expect(s).not.toContain("SECRET");
    expect(s).not.toContain("sig&");
  });
});
