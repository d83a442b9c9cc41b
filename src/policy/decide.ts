import { evaluate, type CheckResult, type Situation, type Validity } from './chain.js';
import { Check, type Finding } from './checks.js';
import type { DecisionInput } from './decision-input.js';
import { iso } from './describe.js';
import { drift } from './drift.js';
import { guards } from './guards.js';
import { earliestExpiring } from './observed.js';
import { readiness } from './readiness.js';
import { emergencyPoint, plannedRenewal, type RenewalPlan } from './renewal-time.js';
import { triggers } from './triggers.js';

export type { AriWindow, DecisionInput, DesiredCertificate, FailureHistory, ObservedRegion, RateLimitBlock, ServedEndpoint } from './decision-input.js';
export { earliestExpiring } from './observed.js';

/**
 * The renewal decision: a pure function of (spec, observation, records, what is served, now), made of
 * named chains of checks of one signature (policy/chain.ts), like cert-manager's policies. `triggers`
 * say why a certificate should be renewed; when one fires, `guards` (backoff, rate limits, the clock)
 * say why not yet; when none fires, `drift` says what to put back and `readiness` whether all is well.
 * Every check that fires is a finding in words; `status` and `plan` print exactly these. No I/O here.
 */

export interface Decision {
  /** `redeploy`: the certificate is fine but a listener no longer serves it; put it back, order nothing. */
  action: 'renew' | 'redeploy' | 'none';
  /** What the checks found, in order (e.g. `InRenewalWindow`, then `Backoff`); the contracts show them as `checks` and `reasons`. */
  findings: Finding[];
  /** When the agent will act if nothing changes: now when renewing, else the planned moment (null: never, e.g. nothing to plan). */
  renewAt: Date | null;
  /** The renewal window in force and where it came from (absent when nothing is deployed). */
  plan?: RenewalPlan;
  /** Validity of the deployed certificate that expires first, and its emergency point (absent when nothing is deployed). */
  validity?: Validity;
  /**
   * Set when the certificate is failing though the action is `none`: deployed but not served
   * (`NotServed`), held past its emergency point (`HeldPastEmergency`) or by a clock problem
   * (`ClockSkew`). The pass reports it as a failure with this message; `check` says which.
   */
  failing?: Finding;
}

export function decide(input: DecisionInput): Decision {
  const soonest = earliestExpiring(input.observed);
  const plan = soonest ? plannedRenewal(soonest, input.now, { ari: input.ari, renewBefore: input.desired.renewBefore }) : undefined;
  const validity = soonest && { notBefore: soonest.notBefore, notAfter: soonest.notAfter, emergencyAt: emergencyPoint(soonest) };
  const situation: Situation = { ...input, soonest, plan, validity };
  const base = { plan, validity };

  const fired = evaluate(triggers, situation);
  if (fired.length === 0) {
    const drifted = evaluate(drift, situation);
    if (drifted.length > 0) return { action: 'redeploy', findings: drifted.map(finding), renewAt: input.now, ...base };
    const ready = evaluate(readiness, situation);
    const failing = ready.find((result) => result.failing);
    return {
      action: 'none',
      findings: ready.filter((result) => !result.failing).map(finding),
      renewAt: plan!.renewAt,
      ...base,
      ...(failing && { failing: finding(failing) }),
    };
  }

  const renew = (extra: Finding[] = []): Decision => ({ action: 'renew', findings: [...fired.map(finding), ...extra], renewAt: input.now, ...base });
  let holds = evaluate(guards, situation).filter((result): result is Hold => result.hold !== undefined);
  if (holds.length === 0) return renew();

  // The CA is the authority: at the emergency point certkeeper's own guards, and a CA refusal from
  // before it, yield: one order the CA may refuse costs less than a certificate that lapses. A refusal
  // of that very order (recorded at or after the emergency point) is honoured.
  if (validity && input.now >= validity.emergencyAt) {
    const yielding = holds.filter(({ hold }) => hold.kind === 'guard' || (hold.kind === 'ca' && (!hold.since || hold.since < validity.emergencyAt)));
    holds = holds.filter((hold) => !yielding.includes(hold));
    if (holds.length === 0) {
      return renew([
        ...yielding.map(finding),
        {
          check: Check.EmergencyOverride,
          message: `less than 1/20 of its lifetime left: ordering anyway despite ${yielding.map((hold) => hold.check).join(', ')} (the CA decides; a refusal is recorded and honoured)`,
        },
      ]);
    }
  }

  const until = new Date(Math.max(...holds.map(({ hold }) => hold.until.getTime())));
  const findings = [...fired, ...holds].map(finding);
  // A hold that outlasts the emergency point is never quiet: reported as failing, and ends at that point
  // (when only certkeeper's own guards or an earlier CA refusal hold it, the order is then tried).
  if (validity && until > validity.emergencyAt) {
    const tried = input.now < validity.emergencyAt && holds.every(({ hold }) => hold.kind !== 'clock');
    const held: Finding = {
      check: Check.HeldPastEmergency,
      message: tried
        ? `held past its emergency point (${iso(validity.emergencyAt)}, 1/20 of its lifetime before expiry): failing; certkeeper orders anyway at that point`
        : `held past its emergency point (${iso(validity.emergencyAt)}, 1/20 of its lifetime before expiry): failing until ${iso(until)}`,
    };
    const all = [...findings, held];
    return { action: 'none', findings: all, renewAt: tried ? validity.emergencyAt : until, ...base, failing: failingAs(Check.HeldPastEmergency, all) };
  }
  // A clock problem holds every order until the clock is right: failing, not quietly waiting.
  const clock = holds.some(({ hold }) => hold.kind === 'clock');
  return { action: 'none', findings, renewAt: until, ...base, ...(clock && { failing: failingAs(Check.ClockSkew, findings) }) };
}

type Hold = CheckResult & Required<Pick<CheckResult, 'hold'>>;

/** The finding alone, as the decision carries it (the weights stay in policy). */
function finding({ check, message }: CheckResult | Finding): Finding {
  return { check, message };
}

/** A hold that is a failure: the message is every reason, as the pass reports it. */
function failingAs(check: Finding['check'], findings: Finding[]): Finding {
  return { check, message: findings.map((entry) => entry.message).join('; ') };
}
