import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "transport-tarball", include: ["test/**/*.test.ts"] } });
