import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "signature-openpgp", include: ["test/**/*.test.ts"] } });
