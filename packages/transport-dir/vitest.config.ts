import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "transport-dir", include: ["test/**/*.test.ts"] } });
