import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "manifest-docker-schema1", include: ["test/**/*.test.ts"] } });
