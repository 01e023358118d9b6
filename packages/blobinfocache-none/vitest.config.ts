import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "blobinfocache-none", include: ["test/**/*.test.ts"] } });
