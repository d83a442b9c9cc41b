import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // End-to-end files start their own Pebble, moto and DNS server: give them time, not retries.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2 cores: two files at once keeps Pebble and moto responsive.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
