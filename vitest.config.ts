import { defineConfig } from 'vitest/config';

// Lab tests share one machine-wide set of namespaces per file and real daemons:
// run files one after another so they never compete for ports or CPU.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default', './test/summary-reporter.ts'],
  },
});
