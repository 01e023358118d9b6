import { defineProject } from "vitest/config";

// End-to-end copies start real tools (skopeo, umoci, the registry): allow them time.
export default defineProject({ test: { name: "e2e", include: ["test/**/*.test.ts"], testTimeout: 120_000, hookTimeout: 60_000 } });
