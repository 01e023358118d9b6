import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "signature-gpg", include: ["test/**/*.test.ts"] } });
