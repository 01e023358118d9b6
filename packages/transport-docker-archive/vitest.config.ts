import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "transport-docker-archive", include: ["test/**/*.test.ts"] } });
