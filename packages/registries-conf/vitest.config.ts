import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "registries-conf", include: ["test/**/*.test.ts"] } });
