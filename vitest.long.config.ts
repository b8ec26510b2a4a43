import { defineConfig } from 'vitest/config';
import { SUITES_APART } from './vitest.config.ts';

// The suites apart from `npm test`, one npm script each (package.json): `test:crash`,
// `test:faults`, `test:package` (the packed package installed into a new project),
// `test:storage` (PostgreSQL) and `test:browser` (Chromium). Each script names its folder
// or files; this config admits all of them.
export default defineConfig({
  test: {
    include: Object.values(SUITES_APART).flat(),
    testTimeout: 1_800_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One temporary directory for the whole run, removed at its end (test/helpers/temp-root.ts).
    globalSetup: ['test/helpers/temp-root.ts'],
    fileParallelism: false,
  },
});
