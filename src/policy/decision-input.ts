import type { KeyType } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';
import type { CheckName } from './checks.js';
import type { RenewBefore } from './renewal-time.js';

/** What the decision is given: desired state, what was observed, the agent's records, and the time. No I/O behind it. */

export interface DesiredCertificate {
  domains: string[];
  keyType: KeyType;
  regions: string[];
  renewBefore?: RenewBefore;
}

export interface ObservedRegion {
  region: string;
  certificateArn?: string;
  facts?: CertificateFacts;
  /** Whether each configured listener serves `certificateArn` (absent when nothing is deployed). */
  listeners?: { arn: string; mode: 'default' | 'sni'; carries: boolean; error?: string }[];
  /** Other certificates of this name used by nothing but the configured listeners: left by an interrupted renewal. */
  leftovers?: string[];
  /** The other configured places that should use `certificateArn` (e.g. CloudFront distributions), and whether each does. */
  attachments?: { kind: string; id: string; carries: boolean; error?: string }[];
}

/** The CA's ACME Renewal Information (RFC 9773) for the deployed certificate, with the moment picked in it. */
export interface AriWindow {
  start: Date;
  end: Date;
  /** Uniformly random in [start, end], kept across passes so a fleet does not renew all at once. */
  chosenAt: Date;
  explanationURL?: string;
}

export interface FailureHistory {
  consecutiveFailures: number;
  lastFailureAt?: Date;
}

/**
 * A guard that holds renewals back until a time (computed by policy/rate-limits.ts): `guard`, one of
 * certkeeper's own rate-limit guards; `ca`, the CA's own `rateLimited` answer (`since`: when it said
 * so); `clock`, this machine's clock disagrees with the CA's last certificate.
 */
export interface RateLimitBlock {
  check: CheckName;
  kind: 'guard' | 'ca' | 'clock';
  until: Date;
  since?: Date;
  reason: string;
}

/** What one `verify` endpoint serves now, as a TLS probe saw it (`error`: the probe failed). */
export interface ServedEndpoint {
  endpoint: string;
  serial?: string;
  error?: string;
}

export interface DecisionInput {
  desired: DesiredCertificate;
  observed: ObservedRegion[];
  now: Date;
  force?: boolean;
  ignoreRateLimits?: boolean;
  ari?: AriWindow;
  /** A certificate an interrupted run had issued and kept, valid and matching the config, not yet in ACM everywhere. */
  issued?: { serial: string; notAfter: Date };
  history?: FailureHistory;
  rateLimits?: RateLimitBlock[];
  /** What the `verify` endpoints serve (absent or empty: not looked at, e.g. the second look under the lease). */
  served?: ServedEndpoint[];
}
