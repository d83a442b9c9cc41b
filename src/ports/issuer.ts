import type { CertificateSpec } from '../config/schema.js';
import type { IssuedCertificate } from '../pki/issued-certificate.js';
import type { AuditLogger } from '../telemetry/logger.js';
import type { ChallengeParticipant } from './challenge-solver.js';
import type { PreflightCheck } from './preflight-check.js';

/**
 * The Issuer port: the CA, as the agent sees it (src/acme/acme-issuer.ts is the ACME implementation).
 *
 * What the caller may rely on:
 * - `issue` registers the account on first use and, when the CA has forgotten it, registers the same key
 *   again and tries once more; it hands back a certificate checked against the order (names, key, chain);
 * - `onIssued` is awaited as soon as the CA has issued, before the challenge clean-up is awaited, so the
 *   caller can keep the certificate (a crash from then on costs no new order);
 * - the DNS-01 values go through `challenges` only: the issuer never touches a DNS provider;
 * - a refusal for a rate limit is recorded (nothing more for these names until the CA's Retry-After) and
 *   logged as `acme.rate_limited` before the error goes up;
 * - `signal` aborts waiting and requests to the CA.
 */
export interface Issuer {
  issue(spec: CertificateSpec, request: IssueRequest): Promise<IssuedCertificate>;
  /**
   * The CA's suggested renewal window for a certificate (RFC 9773 ARI), by its ARI certificate ID;
   * `undefined` when the CA offers none. Throws, with the reason, when the CA cannot be asked.
   */
  renewalInfo(certId: string): Promise<SuggestedWindow | undefined>;
  /** The preflight's `ca` check: the CA answers and, with `account`, the account is valid. Never throws. */
  check(log: AuditLogger, options: { account: boolean }): Promise<PreflightCheck>;
}

export interface IssueRequest {
  /** This renewal's part in its pass's challenge session. */
  challenges: ChallengeParticipant;
  log: AuditLogger;
  signal: AbortSignal;
  /** Told of each step as it begins (for a renewal that runs out of time). */
  onStep: (step: string) => void;
  /** RFC 9773 ID of the certificate this one replaces. */
  replaces?: string;
  /** Told of the certificate as soon as it is issued and checked. Never throws. */
  onIssued: (issued: IssuedCertificate) => Promise<void>;
}

/** A CA's answer to "when should this certificate be renewed?" (RFC 9773 §4.2). */
export interface SuggestedWindow {
  start: Date;
  end: Date;
  explanationURL?: string;
  /** How long to wait before asking again, from Retry-After. */
  retryAfterSeconds?: number;
}
