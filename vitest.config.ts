import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts', 'tests/**/*.test.tsx'],
    setupFiles: ['tests/setup.ts'],
    // Builds the web app once for the browser suites (tests/e2e), cached by its inputs' hash.
    globalSetup: ['tests/support/web-app-global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Real servers, real Chromium: keep the two cores for one file at a time each.
    fileParallelism: true,
    maxWorkers: 2,
    typecheck: { enabled: true, include: ['tests/**/*.test-d.ts'] },
    reporters: ['default', './tests/support/summary-reporter.ts'],
  },
});
