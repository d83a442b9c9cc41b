/**
 * The sandbox's config (`npm run sandbox`, `npm run stack`): the local stack passes what it creates (the
 * ACME directory, the load-balancer listener, a state directory, its DNS server) through the environment.
 * For a real account see ../renewal.config.ts, or run `certkeeper init`.
 */
import { defineConfig } from 'certkeeper';

const env = process.env;

/** Set by test/sandbox.ts, or printed by `npm run stack`: without them this config means nothing. */
function required(name: string): string {
  const value = env[name];
  if (!value) throw new Error(`${name} is not set: this is the sandbox's config; start the local stack with npm run stack and paste its export lines`);
  return value;
}

export default defineConfig({
  acme: {
    directoryUrl: required('CERTKEEPER_SANDBOX_DIRECTORY_URL'),
    // `renew --dry-run` orders here: the local CA stands in for the CA's staging directory.
    stagingDirectoryUrl: required('CERTKEEPER_SANDBOX_STAGING_DIRECTORY_URL'),
    email: 'ops@example.com',
    termsOfServiceAgreed: true,
  },
  stateDir: required('CERTKEEPER_SANDBOX_STATE_DIR'),
  aws: { region: 'us-east-1' },
  // The stack's zones are served by its own DNS server, not by the nameservers moto names.
  route53: { propagation: { resolvers: [required('CERTKEEPER_TEST_DNS_RESOLVER')] } },
  certificates: [
    {
      name: 'web',
      domains: ['example.com', '*.example.com'],
      acm: [{ region: 'us-east-1', listeners: [{ arn: required('CERTKEEPER_SANDBOX_LISTENER_ARN'), mode: 'default' }] }],
    },
  ],
});
