import { defineConfig } from 'vitest/config';

// `npm test`: unit tests beside the sources and the integration suites under test/
// (real Dovecot/Postfix/procmail started by the tests). The long suites (crash, faults)
// live under test/long and run from their own npm scripts, as does test/package (`npm run
// test:package`: the packed tarball installed into a new project).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: ['test/long/**', 'test/package/**', 'node_modules/**'],
    // Upper bounds for a hung test, generous for a loaded machine (CI runs under load).
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One temporary directory for the whole run, removed at its end (test/helpers/temp-root.ts).
    globalSetup: ['test/helpers/temp-root.ts'],
  },
});
