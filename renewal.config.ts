/**
 * certkeeper's example config: the one `npm run sandbox` runs against the local stack.
 *
 * A config is TypeScript (or .js/.mjs): compute values, read the environment, share constants.
 * `defineConfig` only adds types; a plain `export default { … }` works too.
 * The sandbox passes the values it creates (ACME directory, load-balancer listener) through the
 * environment; for real use, write them in directly.
 */
import { defineConfig } from 'certkeeper';

const env = process.env;

export default defineConfig({
  acme: {
    // Let's Encrypt production is the default. Try new configs on staging first:
    //   https://acme-staging-v02.api.letsencrypt.org/directory
    directoryUrl: env.CERTKEEPER_SANDBOX_DIRECTORY_URL ?? 'https://acme-staging-v02.api.letsencrypt.org/directory',
    // `renew --dry-run` orders from the CA's staging directory (Let's Encrypt staging by default).
    ...(env.CERTKEEPER_SANDBOX_STAGING_DIRECTORY_URL && { stagingDirectoryUrl: env.CERTKEEPER_SANDBOX_STAGING_DIRECTORY_URL }),
    email: 'ops@example.com',
    // Only after reading the CA's terms of service.
    termsOfServiceAgreed: true,
  },

  // ACME account key and the agent's records. Created 0700, files 0600. Relative to this file.
  stateDir: env.CERTKEEPER_SANDBOX_STATE_DIR ?? './.certkeeper',

  // Credentials and endpoints come from the standard AWS chain (env, profile, instance role).
  aws: { region: 'us-east-1' },

  // `certkeeper run` does a pass at start, then on this cron schedule (twice a day by default).
  schedule: { cron: '0 0,12 * * *', jitterSeconds: 600 },

  // Route 53: 5 requests/s per account (shared by all renewals), INSYNC within 300 s, then the zone's
  // authoritative nameservers must serve the values. The sandbox's nameserver is its local DNS server.
  route53: {
    requestsPerSecond: 5,
    ...(env.CERTKEEPER_TEST_DNS_RESOLVER && { propagation: { resolvers: [env.CERTKEEPER_TEST_DNS_RESOLVER] } }),
  },

  certificates: [
    {
      // The name is used in logs, in `certkeeper renew NAME` and in the ACM tag `certkeeper:name`.
      name: 'web',
      // Wildcard and apex share one challenge name (_acme-challenge.example.com): one TXT record set.
      domains: ['example.com', '*.example.com'],
      keyType: 'ecdsa-p256',
      // renewBefore: '30d', // backstop when the CA gives no renewal information (ARI); one third of the lifetime otherwise
      // route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ' }, // otherwise: the longest matching public zone
      acm: [
        {
          region: 'us-east-1',
          // certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/…', // re-import here, keeping the ARN
          listeners: [
            {
              arn: env.CERTKEEPER_SANDBOX_LISTENER_ARN ?? 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
              mode: 'default', // or 'sni': added to the listener's certificate list
            },
          ],
        },
      ],
      // After deploying (and on every pass), these endpoints must serve the new certificate:
      // verify: [{ host: 'example.com', port: 443 }],
    },
  ],
});
