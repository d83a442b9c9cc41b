import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Slow suites have their own scripts (npm run test:soak).
    exclude: ['test/soak/**', 'test/reliability/**', 'test/deploy/**', 'node_modules/**'],
    // End-to-end files start their own Pebble, moto and DNS server: give them time, not retries.
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The AWS SDK's multi-line Node 20 notice would clutter every test file's output.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // 2 cores: two files at once keeps Pebble and moto responsive.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
