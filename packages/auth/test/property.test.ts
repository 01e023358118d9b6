import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { emptyRegistriesConfig } from "@stevedore/registries-conf";
import { InvalidConfigurationError } from "@stevedore/types";
import { findCredentials } from "@stevedore/auth";
import { makeWorld, type World } from "./fixtures.js";

let w: World;
beforeAll(async () => {
  w = await makeWorld();
});
afterAll(async () => {
  await w.cleanup();
});

const SECRET = "Sup3rS3cret";
const opts = { registriesConfig: emptyRegistriesConfig() };

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom(SECRET, `${SECRET}:x`, Buffer.from(`u:${SECRET}`).toString("base64"), "", null, 0, true),
    fc.string({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(fc.constantFrom("auth", "identitytoken", "auths", "credHelpers", "r.example.com", "x"), tie("value"), { maxKeys: 3 }),
  ),
})).value;

describe("auth files from hostile input", () => {
  test("findCredentials() of any auth file content returns credentials, nothing, or InvalidConfigurationError without the secret", async () => {
    const path = join(w.dir, "auth.json");
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          jsonish.map((v) => JSON.stringify(v) ?? "null"),
          fc.record({ auths: fc.dictionary(fc.constantFrom("r.example.com", "https://r.example.com/v1/", "r.example.com/ns"), jsonish, { maxKeys: 3 }) }).map((v) =>
            JSON.stringify(v),
          ),
          fc.string({ maxLength: 40 }).map((s) => `{"auths": {"r.example.com": {"auth": "${SECRET}"}}${s}`),
        ),
        fc.boolean(),
        async (text, legacy) => {
          await writeFile(path, text);
          const ctx = w.ctx(legacy ? { legacyFormatAuthFilePath: path } : { authFilePath: path });
          try {
            const found = await findCredentials(ctx, "r.example.com/ns/app", opts);
            if (found) expect(found.source).toBe(path);
          } catch (e) {
            expect(e).toBeInstanceOf(InvalidConfigurationError);
            expect((e as Error).message).not.toContain(SECRET);
            expect((e as Error).message).toContain(path);
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
