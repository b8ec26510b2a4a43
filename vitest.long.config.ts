import { defineConfig } from 'vitest/config';

// The long suites: `npm run test:crash`, `npm run test:faults`; and `npm run test:package`
// (the packed package installed into a new project).
export default defineConfig({
  test: {
    include: ['test/long/**/*.test.ts', 'test/package/**/*.test.ts'],
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // One temporary directory for the whole run, removed at its end (test/helpers/temp-root.ts).
    globalSetup: ['test/helpers/temp-root.ts'],
    fileParallelism: false,
  },
});
