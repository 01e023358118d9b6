import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "reference", include: ["test/**/*.test.ts"] } });
