import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for something that will happen (a browser rendering, a relay); on a
    // loaded 2-core machine that can take seconds, so the default second is too short.
    expect: { poll: { timeout: 15_000 } },
    // Suites share the machine's PostgreSQL/Redis but isolate by database/prefix;
    // two workers keep the 2-core box responsive for the servers under test.
    maxWorkers: 2,
  },
});
