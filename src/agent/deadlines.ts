import type { CertificateSpec, ResolvedConfig } from '../config/schema.js';

// Ordering, validation polls, finalization, ACM imports and listener updates: minutes at worst with a
// healthy CA and AWS. Route 53 and the served-certificate check have their own configured waits.
const ACME_AND_DEPLOY_BUDGET_S = 600;

/**
 * How long one renewal may take before it is cancelled, cleaned up and reported failed: the configured
 * waits it may go through (INSYNC for the challenge records and again for their clean-up, the
 * propagation check, the served-certificate check) plus a budget for the CA and the deploy. A lock
 * older than this whose holder still looks alive is a wedged renewal, not a busy one.
 */
export function renewalDeadlineMs(config: ResolvedConfig, spec?: Pick<CertificateSpec, 'verifyTimeoutSeconds'>): number {
  const { insyncTimeoutSeconds, propagation } = config.route53;
  const verify = spec ? spec.verifyTimeoutSeconds : Math.max(0, ...config.certificates.map((entry) => entry.verifyTimeoutSeconds));
  return (2 * insyncTimeoutSeconds + (propagation.check ? propagation.timeoutSeconds : 0) + verify + ACME_AND_DEPLOY_BUDGET_S) * 1000;
}
