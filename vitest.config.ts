import { defineConfig } from 'vitest/config';

/**
 * The suites that run on their own (`vitest.long.config.ts`), kept out of `npm test` so that
 * it stays near ten minutes on a 2-core machine: the crash and fault suites, the packed
 * package, the PostgreSQL suites (test/storage: a real server each, several hosts, the
 * migrations) and the Chromium suites. `.ci/run` runs every one of them after `npm test`.
 */
export const SUITES_APART = {
  crash: ['test/long/crash/**/*.test.ts'],
  faults: ['test/long/faults/**/*.test.ts'],
  package: ['test/package/**/*.test.ts'],
  storage: ['test/storage/**/*.test.ts'],
  browser: [
    'test/web/browser.test.ts',
    'test/web/owner-pages.test.ts',
    'test/web/archive-browser.test.ts',
  ],
};

// `npm test`: unit tests beside the sources and the integration suites under test/
// (real Dovecot/Postfix/procmail started by the tests), without the suites above.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    exclude: [...Object.values(SUITES_APART).flat(), 'node_modules/**'],
    // Upper bounds for a hung test, generous for a loaded machine (CI runs under load).
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // One temporary directory for the whole run, removed at its end (test/helpers/temp-root.ts).
    globalSetup: ['test/helpers/temp-root.ts'],
  },
});
