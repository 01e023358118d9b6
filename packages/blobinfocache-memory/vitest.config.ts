import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "blobinfocache-memory", include: ["test/**/*.test.ts"] } });
