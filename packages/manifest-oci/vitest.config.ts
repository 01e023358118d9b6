import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "manifest-oci", include: ["test/**/*.test.ts"] } });
