import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts", "bench/**/*.test.ts", "web/**/*.test.ts"],
    testTimeout: 60_000,
    pool: "forks",
    // Two files at a time: most of the suite's time is the e2e files waiting on chain time (blocks every
    // second, challenge windows, epochs), not computing, and one at a time took 13–14 minutes.
    maxWorkers: 2,
  },
});
