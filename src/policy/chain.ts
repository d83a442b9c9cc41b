import type { CertificateFacts } from '../pki/certificate.js';
import type { Finding } from './checks.js';
import type { DecisionInput, RateLimitBlock } from './decision-input.js';
import type { RenewalPlan } from './renewal-time.js';

/**
 * The one shape of every check of the decision, after cert-manager's certificate policies: a check is
 * a pure function of the situation that returns what it found (nothing: all is well by this check).
 * Checks are grouped in named chains (policy/triggers.ts, guards.ts, drift.ts, readiness.ts) and a
 * chain is evaluated by `evaluate`; policy/decide.ts says which chains run and how their results weigh.
 */

/** The decision's input and what follows from it, computed once for every check. */
export interface Situation extends DecisionInput {
  /** The deployed certificate that expires first (absent when nothing is deployed). */
  soonest?: CertificateFacts;
  /** Its renewal window in force (absent when nothing is deployed). */
  plan?: RenewalPlan;
  /** Its validity and emergency point (absent when nothing is deployed). */
  validity?: Validity;
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
  emergencyAt: Date;
}

/** A finding, with what the decision needs to weigh it. */
export interface CheckResult extends Finding {
  /** A trigger that means "no working certificate soon": backoff must not push it past the emergency point. */
  urgent?: boolean;
  /** A guard's hold: no order until `until`. */
  hold?: Pick<RateLimitBlock, 'kind' | 'until' | 'since'>;
  /** The certificate is failing though there is nothing to do now (e.g. deployed but not served). */
  failing?: boolean;
}

export type PolicyCheck = (situation: Situation) => CheckResult[];

/** An ordered list of checks; the order is only how the reasons read, the most fundamental first. */
export interface Chain {
  name: string;
  checks: readonly PolicyCheck[];
}

/** Every finding of every check of the chain, in order (unlike cert-manager's first-match: every reason is shown). */
export function evaluate(chain: Chain, situation: Situation): CheckResult[] {
  return chain.checks.flatMap((check) => check(situation));
}
