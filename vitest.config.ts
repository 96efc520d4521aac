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
          // The rootless suite runs against its own engine, in its stage (BERTH_ROOTLESS=1 with
          // DOCKER_HOST at the rootless socket; see scripts/rootless-up.sh).
          exclude: [
            ...(process.env.BERTH_LOAD === '1' ? [] : ['test/integration/load.test.ts']),
            ...(process.env.BERTH_ROOTLESS === '1' ? [] : ['test/integration/rootless.test.ts']),
            // An engine without an init binary (scripts/podman-noinit-up.sh), in the Podman stage.
            ...(process.env.BERTH_NOINIT === '1' ? [] : ['test/integration/no-init.test.ts']),
          ],
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
