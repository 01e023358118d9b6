import { defineProject } from "vitest/config";

// Large-stream tests move tens of MiB through real codecs and tools: give them time (no test asserts on time).
export default defineProject({ test: { name: "compression", include: ["test/**/*.test.ts"], testTimeout: 60_000 } });
