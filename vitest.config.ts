import { defineConfig } from 'vitest/config';

// Two projects. unit: no root, no namespaces, no dist/ (`npm run test:unit`, any user). lab: the
// simulated guest from real parts, as root: namespaces, Debian's daemons and tools, the bundles in
// dist/. Lab files share machine-wide resources (CPU, the lab's folder): one after another, and
// only once the unit tests are done.
export default defineConfig({
  test: {
    reporters: ['default', './test/summary-reporter.ts'],
    setupFiles: ['./test/helpers/every-test-asserts.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // The property tests run a few thousand cases (1-2 s alone); under a busy CPU they took
          // over vitest's default 5 s. A wide margin, not a race with the machine's speed.
          testTimeout: 30_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'lab',
          include: ['test/lab/**/*.test.ts'],
          // One process runs the lab files one after another.
          poolOptions: { forks: { singleFork: true } },
          testTimeout: 60_000,
          hookTimeout: 60_000,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
