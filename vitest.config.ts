import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // The load test saturates the engine; scripts/test.sh runs it in a stage of its own
          // (BERTH_LOAD=1) so that it does not starve the timing-sensitive kill tests.
          exclude: process.env.BERTH_LOAD === '1' ? [] : ['test/integration/load.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: two files at a time keeps the engine responsive for every test.
          maxWorkers: 2,
          // A project with its own maxWorkers needs its own group (vitest 4 refuses mixing them).
          sequence: { groupOrder: 1 },
          globalSetup: ['test/integration/global-setup.ts'],
        },
      },
    ],
  },
});
