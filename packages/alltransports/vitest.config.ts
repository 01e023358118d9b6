import { defineProject } from "vitest/config";

export default defineProject({ test: { name: "alltransports", include: ["test/**/*.test.ts"] } });
