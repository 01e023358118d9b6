import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "copy", include: ["test/**/*.test.ts"] } });
