import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "manifest-docker", include: ["test/**/*.test.ts"] } });
