import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "signature-sigstore", include: ["test/**/*.test.ts"] } });
