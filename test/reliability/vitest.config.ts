import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/** `npm run test:reliability`: crashes at every step, faults, races, bad input, secrets (issue 7). */
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/reliability/**/*.test.ts'],
    testTimeout: 5 * 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Every file's CLI output is kept for the secrets scan that runs last (see output-log.ts).
    globalSetup: ['test/reliability/secrets-global-setup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // 2 cores: two stacks at once, as in `npm test`.
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});
