import { defineConfig } from "vitest/config";

// The end-to-end lab test: one file, run serially, with the long timeouts of real VMs.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/harness/scratch-tmpdir.ts"],
    testTimeout: 30 * 60_000,
    hookTimeout: 45 * 60_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
