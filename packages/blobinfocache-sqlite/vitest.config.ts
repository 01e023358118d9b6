import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "blobinfocache-sqlite", include: ["test/**/*.test.ts"] } });
