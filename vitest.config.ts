import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Memory tests force a collection before sampling, so they measure what is kept, not garbage.
    execArgv: ['--expose-gc'],
    testTimeout: 30_000,
    // expect.poll waits for something the app reaches on its own schedule (the webhooks view reloads
    // a pending delivery every second); the default 1 s bound is one such period, and a clean-clone
    // CI run failed on it once. Polls still end as soon as they succeed.
    expect: { poll: { timeout: 10_000 } },
    hookTimeout: 60_000,
    reporters: ['default'],
    // Builds the web UI when its sources changed (the browser tests and the web-ui routes serve it).
    globalSetup: ['test/web/support/global-setup.ts'],
  },
});
