import { defineProject } from "vitest/config";

// The verbs run the real CLI in a child process and skopeo beside it.
export default defineProject({ test: { name: "cli", include: ["test/**/*.test.ts"], testTimeout: 60_000 } });
