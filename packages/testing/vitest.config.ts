import { defineProject } from "vitest/config";

// Each test starts real processes (docker-registry, openssl, htpasswd, skopeo): allow them time.
export default defineProject({
  test: { name: "testing", include: ["test/**/*.test.ts"], testTimeout: 60_000, hookTimeout: 60_000 },
});
