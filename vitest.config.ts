import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Memory tests force a collection before sampling, so they measure what is kept, not garbage.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
    // Builds the web UI when its sources changed (the browser tests and the web-ui routes serve it).
    globalSetup: ['test/web/support/global-setup.ts'],
  },
});
