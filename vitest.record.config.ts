import { defineConfig } from 'vitest/config';

// The fixture recorder (test/record): runs only with RECORD=1 and this config, against a real engine:
//   RECORD=1 npx vitest run -c vitest.record.config.ts
export default defineConfig({
  test: {
    include: ['test/record/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 60_000,
    // Scenarios run one after the other: one file, sequential tests.
    fileParallelism: false,
  },
});
