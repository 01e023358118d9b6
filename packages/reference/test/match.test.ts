// pathMatch() follows Go's path.Match; these rows are Go's own table
// (src/path/match_test.go), which familiarMatch() relies on.
import { InvalidReferenceError } from "@stevedore/types";
import { pathMatch } from "@stevedore/reference";
import { describe, expect, test } from "vitest";

const BAD = "bad";

const matchTests: [pattern: string, name: string, result: boolean | typeof BAD][] = [
  ["abc", "abc", true],
  ["*", "abc", true],
  ["*c", "abc", true],
  ["a*", "a", true],
  ["a*", "abc", true],
  ["a*", "ab/c", false],
  ["a*/b", "abc/b", true],
  ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true],
  ["ab[b-d]", "abc", true],
  ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abc", false],
  ["ab[^e-g]", "abc", true],
  ["a\\*b", "a*b", true],
  ["a\\*b", "ab", false],
  ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true],
  ["a???b", "a☺b", false],
  ["a[^a][^a][^a]b", "a☺b", false],
  ["[a-ζ]*", "α", true],
  ["*[a-ζ]", "A", false],
  ["a?b", "a/b", false],
  ["a*b", "a/b", false],
  ["[\\]a]", "]", true],
  ["[\\-]", "-", true],
  ["[x\\-]", "x", true],
  ["[x\\-]", "-", true],
  ["[x\\-]", "z", false],
  ["[\\-x]", "x", true],
  ["[\\-x]", "-", true],
  ["[\\-x]", "a", false],
  ["[]a]", "]", BAD],
  ["[-]", "-", BAD],
  ["[x-]", "x", BAD],
  ["[x-]", "-", BAD],
  ["[x-]", "z", BAD],
  ["[-x]", "x", BAD],
  ["[-x]", "-", BAD],
  ["[-x]", "a", BAD],
  ["\\", "a", BAD],
  ["[a-b-c]", "a", BAD],
  ["[", "a", BAD],
  ["[^", "a", BAD],
  ["[^bc", "a", BAD],
  ["a[", "a", BAD],
  ["a[", "ab", BAD],
  ["a[", "x", BAD],
  ["a/b[", "x", BAD],
  ["*x", "xxx", true],
];

describe("pathMatch() (Go path.Match table)", () => {
  for (const [pattern, name, result] of matchTests) {
    if (result === BAD) {
      test(`pathMatch(${JSON.stringify(pattern)}, ${JSON.stringify(name)}) throws 'syntax error in pattern'`, () => {
        expect(() => pathMatch(pattern, name)).toThrow(InvalidReferenceError);
        expect(() => pathMatch(pattern, name)).toThrow("syntax error in pattern");
      });
    } else {
      test(`pathMatch(${JSON.stringify(pattern)}, ${JSON.stringify(name)}) is ${result}`, () => {
        expect(pathMatch(pattern, name)).toBe(result);
      });
    }
  }
  test("pathMatch() reports a malformed tail even after a mismatch", () => {
    expect(() => pathMatch("x*[", "abc")).toThrow("syntax error in pattern");
  });
  test("pathMatch() of the empty pattern matches only the empty name", () => {
    expect(pathMatch("", "")).toBe(true);
    expect(pathMatch("", "a")).toBe(false);
  });
  test("pathMatch() finishes quickly on a pattern with many stars", () => {
    expect(pathMatch("*a".repeat(50) + "b", "a".repeat(200))).toBe(false);
  });
});
