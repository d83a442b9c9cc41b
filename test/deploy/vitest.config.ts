import { defineConfig } from 'vitest/config';

// Checks of what ships (the packed tarball, deploy/ files) with the tools that use them: run by CI (.ci/run).
export default defineConfig({
  test: {
    include: ['test/deploy/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
