import { defineConfig } from 'vitest/config';

// The fault suite (test/faults): kills and restarts a second, private dockerd that its global
// set-up starts (scripts/second-daemon.sh) and stops again, kills and OOM-kills containers on the
// main engine, and talks to broken sockets. It runs on its own, one file at a time:
//   npx vitest run -c vitest.faults.config.ts
// Needs root (it starts dockerd) and the main engine with the test images (scripts/engine-up.sh).
// BERTH_FAULTS_KEEP=1 leaves the second daemon running afterwards (faster re-runs).
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // The files kill and restart one shared daemon: never two at a time.
    fileParallelism: false,
    globalSetup: ['test/faults/global-setup.ts'],
  },
});
