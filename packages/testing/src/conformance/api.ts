/**
 * What a conformance suite needs from vitest. Suites take these as
 * parameters so that `@stevedore/testing` does not decide which copy of
 * vitest runs them: pass `{ describe, test, expect }` from the test file.
 */
export interface TestApi {
  describe: (name: string, fn: () => void) => void;
  test: (name: string, fn: () => unknown | Promise<unknown>, timeout?: number) => void;
  expect: import("vitest").ExpectStatic;
  beforeAll?: (fn: () => unknown | Promise<unknown>) => void;
  afterAll?: (fn: () => unknown | Promise<unknown>) => void;
  beforeEach?: (fn: () => unknown | Promise<unknown>) => void;
  afterEach?: (fn: () => unknown | Promise<unknown>) => void;
}
