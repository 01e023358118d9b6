import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "signature-simple", include: ["test/**/*.test.ts"] } });
