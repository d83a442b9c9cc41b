import type { CertificateFacts } from '../pki/certificate.js';
import { formatDays } from './renewal-time.js';

/** How the decision's messages write times and what is left of a certificate. */

export function describeRemaining(facts: CertificateFacts, now: Date): string {
  const days = (facts.notAfter.getTime() - now.getTime()) / 86_400_000;
  const lifetime = (facts.notAfter.getTime() - facts.notBefore.getTime()) / 86_400_000;
  return `valid until ${iso(facts.notAfter)} (${formatDays(days)} left of ${formatDays(Math.round(lifetime))})`;
}

export function iso(date: Date): string {
  return date.toISOString();
}
