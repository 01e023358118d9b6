import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvalidManifestError, SizeLimitExceededError } from "@stevedore/types";
import {
  compareCodePoints,
  goCompact,
  goIndent,
  goQuote,
  MAX_MANIFEST_SIZE,
  normalizeGoTime,
  parseJSONDocument,
  type JSONNode,
} from "@stevedore/manifest-oci";

const enc = new TextEncoder();

/** The plain JS value of a node, for comparison with JSON.parse. */
function plain(n: JSONNode): unknown {
  switch (n.kind) {
    case "object": {
      const o: Record<string, unknown> = {};
      // defineProperty, not assignment: a "__proto__" key is an own property in JSON.parse's result.
      for (const [k, v] of n.entries) Object.defineProperty(o, k, { value: plain(v), enumerable: true, writable: true, configurable: true });
      return o;
    }
    case "array":
      return n.items.map(plain);
    case "string":
    case "boolean":
      return n.value;
    case "number":
      return Number(n.raw);
    case "null":
      return null;
  }
}

describe("parseJSONDocument()", () => {
  test("parses a document and keeps each value's source text", () => {
    const doc = parseJSONDocument(enc.encode('{"a": [1.50, "x\\u00e9"], "b": {"c": null}}'));
    expect(plain(doc.root)).toEqual({ a: [1.5, "xé"], b: { c: null } });
    const a = (doc.root as Extract<JSONNode, { kind: "object" }>).entries[0]?.[1] as JSONNode;
    expect(doc.text.slice(a.start, a.end)).toBe('[1.50, "x\\u00e9"]');
  });

  test("keeps duplicate keys in order", () => {
    const doc = parseJSONDocument('{"k":1,"k":2}');
    expect((doc.root as Extract<JSONNode, { kind: "object" }>).entries.map(([k, v]) => [k, (v as { raw: string }).raw])).toEqual([
      ["k", "1"],
      ["k", "2"],
    ]);
  });

  test.each([
    ["", /empty document/],
    ["{", /expected a string key|unexpected end/],
    ['{"a":1,}', /expected a string key/],
    ["[1 2]", /expected "," or "]"/],
    ["01", /unexpected data after/],
    ["1.", /invalid number/],
    ['"a\tb"', /control character/],
    ['"\\x"', /invalid escape/],
    ["tru", /invalid literal/],
    ["{} {}", /unexpected data after/],
    ["\ufeff{}", /unexpected character/],
  ])("refuses %j with InvalidManifestError", (text, msg) => {
    expect(() => parseJSONDocument(text)).toThrow(InvalidManifestError);
    expect(() => parseJSONDocument(text)).toThrow(msg);
  });

  test("refuses invalid UTF-8", () => {
    expect(() => parseJSONDocument(Uint8Array.from([0x22, 0xff, 0x22]))).toThrow(/not valid UTF-8/);
  });

  test("refuses 10 000-deep nesting with a typed error, not a stack overflow", () => {
    const deep = "[".repeat(10_000) + "]".repeat(10_000);
    expect(() => parseJSONDocument(deep)).toThrow(InvalidManifestError);
    expect(() => parseJSONDocument(deep)).toThrow(/nesting deeper than 256 levels/);
    const objects = '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000);
    expect(() => parseJSONDocument(objects)).toThrow(/nesting deeper/);
  });

  test("accepts nesting up to the limit", () => {
    expect(() => parseJSONDocument("[".repeat(256) + "]".repeat(256))).not.toThrow();
  });

  test("refuses documents over 4 MiB with SizeLimitExceededError", () => {
    const big = new Uint8Array(MAX_MANIFEST_SIZE + 1).fill(0x20);
    expect(() => parseJSONDocument(big)).toThrow(SizeLimitExceededError);
  });

  test("replaces unpaired surrogate escapes with U+FFFD, as Go", () => {
    const doc = parseJSONDocument('["\\ud800", "\\udc00x", "\\ud83d\\ude00"]');
    expect(plain(doc.root)).toEqual(["\ufffd", "\ufffdx", "😀"]);
  });

  test("agrees with JSON.parse on every valid JSON value", () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        expect(plain(parseJSONDocument(text).root)).toEqual(JSON.parse(text));
      }),
      { numRuns: 300 },
    );
  });

  test("never crashes on random text: a typed error or a result", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        try {
          parseJSONDocument(text);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidManifestError);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("goQuote()", () => {
  test("escapes as Go's encoding/json, HTML characters included", () => {
    expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(goQuote("<x> & y")).toBe('"\\u003cx\\u003e \\u0026 y"');
    expect(goQuote("\n\r\t\b\f\u0001\u001f")).toBe('"\\n\\r\\t\\b\\f\\u0001\\u001f"');
    expect(goQuote("\u2028\u2029é😀\u007f")).toBe('"\\u2028\\u2029é😀\u007f"');
    expect(goQuote("\ud800")).toBe('"\ufffd"');
  });

  test("produces JSON that reads back as the same string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(JSON.parse(goQuote(s))).toBe(s);
      }),
    );
  });
});

describe("goCompact()", () => {
  test("removes whitespace outside strings, keeps number spelling and escapes, escapes HTML characters", () => {
    expect(goCompact('{ "a" : [ 1.50 , 1e2 ],\n "b": "x y \\u00e9 <&>" }')).toBe('{"a":[1.50,1e2],"b":"x y \\u00e9 \\u003c\\u0026\\u003e"}');
  });
});

describe("goIndent()", () => {
  test("indents like json.MarshalIndent and keeps empty containers compact", () => {
    expect(goIndent('{"a":[],"b":{},"c":[1,{"d":"x,y:z"}]}', "  ")).toBe(
      '{\n  "a": [],\n  "b": {},\n  "c": [\n    1,\n    {\n      "d": "x,y:z"\n    }\n  ]\n}',
    );
  });
});

describe("normalizeGoTime()", () => {
  test.each([
    ["2016-09-23T22:59:21.380000000+02:00", "2016-09-23T22:59:21.38+02:00"],
    ["2016-09-23T20:59:21.000000001Z", "2016-09-23T20:59:21.000000001Z"],
    ["2016-09-23T20:59:21.0000000019Z", "2016-09-23T20:59:21.000000001Z"],
    ["2016-09-23T20:59:21.000Z", "2016-09-23T20:59:21Z"],
    ["2016-09-23T20:59:21+00:00", "2016-09-23T20:59:21Z"],
    ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"],
    ["2024-02-29T00:00:00-07:30", "2024-02-29T00:00:00-07:30"],
  ])("normalises %s to %s", (input, output) => {
    expect(normalizeGoTime(input)).toBe(output);
  });

  test.each(["2023-02-29T00:00:00Z", "2016-13-01T00:00:00Z", "2016-09-23 20:59:21Z", "2016-09-23T24:00:00Z", "2016-09-23T20:59:21", "x"])(
    "refuses %s",
    (input) => {
      expect(normalizeGoTime(input)).toBeUndefined();
    },
  );
});

describe("compareCodePoints()", () => {
  test("orders by code point (UTF-8 byte order), not UTF-16 unit", () => {
    const keys = ["\uffff", "😀", "a", "é"];
    expect([...keys].sort(compareCodePoints)).toEqual(["a", "é", "\uffff", "😀"]);
  });
});
