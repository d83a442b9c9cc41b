import type { KeyType } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';
import { backoffUntil } from './backoff.js';
import { CLOCK_TOLERANCE_MS } from '../store/clock-tolerance.js';
import { emergencyPoint, formatDays, plannedRenewal, type RenewBefore, type RenewalPlan } from './renewal-time.js';

/**
 * The renewal decision: a pure function of (spec, observation, records, now), made of small named
 * checks in order, like cert-manager's trigger policies. Triggers say why a certificate should be
 * renewed; guards (backoff, rate limits) say why not yet. Every check that fires adds a reason in
 * words; `status` and `plan` print exactly these reasons. No I/O here.
 */

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
  check: string;
  kind: 'guard' | 'ca' | 'clock';
  until: Date;
  since?: Date;
  reason: string;
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
}

export interface Decision {
  /** `redeploy`: the certificate is fine but a listener no longer serves it; put it back, order nothing. */
  action: 'renew' | 'redeploy' | 'none';
  /** Names of the checks that fired, in order (e.g. `InRenewalWindow`, `Backoff`). */
  checks: string[];
  reasons: string[];
  /** When the agent will act if nothing changes: now when renewing, else the planned moment (null: never, e.g. nothing to plan). */
  renewAt: Date | null;
  /** The renewal window in force and where it came from (absent when nothing is deployed). */
  plan?: RenewalPlan;
  /** Validity of the deployed certificate that expires first, and its emergency point (absent when nothing is deployed). */
  validity?: { notBefore: Date; notAfter: Date; emergencyAt: Date };
}

interface Trigger {
  check: string;
  reason: string;
  /** Triggers that mean "no working certificate soon": backoff must not push them past the emergency point. */
  urgent?: boolean;
}

type TriggerCheck = (input: DecisionInput, plan: RenewalPlan | undefined) => Trigger | Trigger[] | null;

const forced: TriggerCheck = ({ force }) => (force ? { check: 'Forced', reason: 'renewal forced (--force)' } : null);

const notDeployed: TriggerCheck = ({ desired, observed }) =>
  desired.regions
    .filter((region) => !observed.find((entry) => entry.region === region)?.facts)
    .map((region) => {
      const arn = observed.find((entry) => entry.region === region)?.certificateArn;
      return {
        check: 'NotDeployed',
        urgent: true,
        reason: arn ? `configured certificate ${arn} in ${region} does not exist` : `no certificate deployed in ACM in ${region}`,
      };
    });

const domainsDiffer: TriggerCheck = ({ desired, observed }) => {
  const wanted = sorted(desired.domains);
  return deployed(observed)
    .filter(({ facts }) => sorted(facts.domains).join(',') !== wanted.join(','))
    .map(({ region, facts }) => ({
      check: 'DomainsDiffer',
      reason: `domains differ in ${region}: deployed ${facts.domains.join(', ')}; configured ${wanted.join(', ')}`,
    }));
};

const keyTypeDiffers: TriggerCheck = ({ desired, observed }) =>
  deployed(observed)
    .filter(({ facts }) => facts.keyType !== desired.keyType)
    .map(({ region, facts }) => ({
      check: 'KeyTypeDiffers',
      reason: `key type differs in ${region}: deployed ${facts.keyType}; configured ${desired.keyType}`,
    }));

const regionsOutOfStep: TriggerCheck = ({ observed }) => {
  const serials = new Set(deployed(observed).map(({ facts }) => facts.serial));
  if (serials.size <= 1) return null;
  return {
    check: 'RegionsOutOfStep',
    reason: `regions hold different certificates (${deployed(observed)
      .map(({ region, facts }) => `${region}: ${facts.serial}`)
      .join(', ')})`,
  };
};

const expired: TriggerCheck = ({ observed, now }) =>
  deployed(observed)
    .filter(({ facts }) => facts.notAfter <= now)
    .map(({ region, facts }) => ({ check: 'Expired', urgent: true, reason: `expired in ${region} on ${iso(facts.notAfter)}` }));

const emergency: TriggerCheck = ({ observed, now }) => {
  const soonest = earliestExpiring(observed);
  if (!soonest || soonest.notAfter <= now || now < emergencyPoint(soonest)) return null;
  return {
    check: 'Emergency',
    urgent: true,
    reason: `${describeRemaining(soonest, now)}: less than 1/20 of its lifetime left, renewing now whatever the backoff`,
  };
};

const renewalDue: TriggerCheck = ({ now }, plan) => {
  if (!plan || now < plan.renewAt) return null;
  return { check: plan.source === 'ari' ? 'AriWindowOpen' : 'InRenewalWindow', reason: `${plan.description}; due since ${iso(plan.renewAt)}` };
};

// Whatever else is true: it was issued to be deployed, and deploying it spends no order.
const issuedNotDeployed: TriggerCheck = ({ issued }) =>
  issued
    ? { check: 'IssuedNotDeployed', reason: `certificate ${issued.serial} (valid until ${iso(issued.notAfter)}) was issued by an interrupted run and is not deployed everywhere yet: deploying it, no new order` }
    : null;

/** Order matters only for how reasons read: the most fundamental first. */
const TRIGGERS: TriggerCheck[] = [forced, notDeployed, domainsDiffer, keyTypeDiffers, regionsOutOfStep, expired, emergency, renewalDue, issuedNotDeployed];

export function decide(input: DecisionInput): Decision {
  const soonest = earliestExpiring(input.observed);
  const plan = soonest ? plannedRenewal(soonest, input.now, { ari: input.ari, renewBefore: input.desired.renewBefore }) : undefined;
  const validity = soonest && { notBefore: soonest.notBefore, notAfter: soonest.notAfter, emergencyAt: emergencyPoint(soonest) };
  const triggers = TRIGGERS.flatMap((check) => {
    const found = check(input, plan);
    return found === null ? [] : Array.isArray(found) ? found : [found];
  });

  if (triggers.length === 0) {
    const drift = listenerDrift(input.observed);
    const leftovers = leftoverCertificates(input.observed);
    if (drift.length > 0 || leftovers.length > 0) {
      return {
        action: 'redeploy',
        checks: [...drift.map(() => 'ListenerDrift'), ...leftovers.map(() => 'LeftoverCertificate')],
        reasons: [...drift, ...leftovers],
        renewAt: input.now,
        plan,
        validity,
      };
    }
    const renewAt = plan!.renewAt;
    return {
      action: 'none',
      checks: ['UpToDate'],
      reasons: [`${describeRemaining(soonest!, input.now)}; ${plan!.description}; renewing at ${iso(renewAt)}`],
      renewAt,
      plan,
      validity,
    };
  }

  const renew = (extra: { checks: string[]; reasons: string[] } = { checks: [], reasons: [] }): Decision => ({
    action: 'renew',
    checks: [...triggers.map((t) => t.check), ...extra.checks],
    reasons: [...triggers.map((t) => t.reason), ...extra.reasons],
    renewAt: input.now,
    plan,
    validity,
  });
  let guards = holdBack(input, triggers, soonest);
  if (guards.length === 0) return renew();

  // The CA is the authority: at the emergency point certkeeper's own guards, and a CA refusal from
  // before it, yield: one order the CA may refuse costs less than a certificate that lapses. A refusal
  // of that very order (recorded at or after the emergency point) is honoured.
  if (validity && input.now >= validity.emergencyAt) {
    const yielding = guards.filter((guard) => guard.kind === 'guard' || (guard.kind === 'ca' && (!guard.since || guard.since < validity.emergencyAt)));
    guards = guards.filter((guard) => !yielding.includes(guard));
    if (guards.length === 0) {
      return renew({
        checks: [...yielding.map((guard) => guard.check), 'EmergencyOverride'],
        reasons: [
          ...yielding.map((guard) => guard.reason),
          `less than 1/20 of its lifetime left: ordering anyway despite ${yielding.map((guard) => guard.check).join(', ')} (the CA decides; a refusal is recorded and honoured)`,
        ],
      });
    }
  }

  const until = new Date(Math.max(...guards.map((guard) => guard.until.getTime())));
  const checks = [...triggers.map((t) => t.check), ...guards.map((g) => g.check)];
  const reasons = [...triggers.map((t) => t.reason), ...guards.map((g) => g.reason)];
  // A hold that outlasts the emergency point is never quiet: reported as failing, and ends at that point
  // (when only certkeeper's own guards or an earlier CA refusal hold it, the order is then tried).
  if (validity && until > validity.emergencyAt) {
    const tried = input.now < validity.emergencyAt && guards.every((guard) => guard.kind !== 'clock');
    return {
      action: 'none',
      checks: [...checks, 'HeldPastEmergency'],
      reasons: [
        ...reasons,
        tried
          ? `held past its emergency point (${iso(validity.emergencyAt)}, 1/20 of its lifetime before expiry): failing; certkeeper orders anyway at that point`
          : `held past its emergency point (${iso(validity.emergencyAt)}, 1/20 of its lifetime before expiry): failing until ${iso(until)}`,
      ],
      renewAt: tried ? validity.emergencyAt : until,
      plan,
      validity,
    };
  }
  return { action: 'none', checks, reasons, renewAt: until, plan, validity };
}

/**
 * Guards against renewing right now: failure backoff (bounded by the lifetime left; not for forced or
 * emergency renewals), rate limits (not with ignoreRateLimits) and a clock problem (not when forced).
 */
function holdBack(input: DecisionInput, triggers: Trigger[], soonest: CertificateFacts | undefined): RateLimitBlock[] {
  const { now, history, force } = input;
  const guards: RateLimitBlock[] = [];
  const emergencyNow = triggers.some((t) => t.check === 'Emergency' || t.check === 'Expired');
  // A failure recorded in the future comes from a clock that ran ahead: not believed (it would hold for as long).
  const believable = history?.lastFailureAt && history.lastFailureAt.getTime() <= now.getTime() + CLOCK_TOLERANCE_MS;
  if (!force && !emergencyNow && history && history.consecutiveFailures > 0 && history.lastFailureAt && believable) {
    const retryAt = backoffUntil(history.consecutiveFailures, history.lastFailureAt, soonest);
    if (retryAt > now) {
      guards.push({
        check: 'Backoff',
        kind: 'guard',
        until: retryAt,
        reason: `waiting until ${iso(retryAt)} before trying again: ${history.consecutiveFailures} failed attempt${history.consecutiveFailures === 1 ? '' : 's'} in a row (last at ${iso(history.lastFailureAt)})`,
      });
    }
  }
  const current = (input.rateLimits ?? []).filter((block) => block.until > now);
  // Deploying a kept certificate orders nothing: the CA's limits and certkeeper's guards of them do not apply.
  guards.push(...current.filter((block) => (block.kind === 'clock' ? !force : !input.ignoreRateLimits && !input.issued)));
  return guards;
}

/** Listeners that no longer serve the deployed certificate (changed by hand, or an interrupted swap). */
function listenerDrift(observed: ObservedRegion[]): string[] {
  return observed.flatMap((region) =>
    (region.listeners ?? [])
      .filter((listener) => !listener.carries)
      .map((listener) =>
        listener.error
          ? `listener ${listener.arn} cannot be read: ${listener.error}`
          : `listener ${listener.arn} does not serve ${region.certificateArn} as its ${listener.mode === 'default' ? 'default certificate' : 'SNI certificate'}: put it back`,
      ),
  );
}

/** A crash between importing a new ARN and retiring the old one leaves two certificates of one name: retire the extra. */
function leftoverCertificates(observed: ObservedRegion[]): string[] {
  return observed.flatMap((region) =>
    region.certificateArn ? (region.leftovers ?? []).map((arn) => `${arn} in ${region.region} is left over from an interrupted renewal (deployed: ${region.certificateArn}): retire it`) : [],
  );
}

function describeRemaining(facts: CertificateFacts, now: Date): string {
  const days = (facts.notAfter.getTime() - now.getTime()) / 86_400_000;
  const lifetime = (facts.notAfter.getTime() - facts.notBefore.getTime()) / 86_400_000;
  return `valid until ${iso(facts.notAfter)} (${formatDays(days)} left of ${formatDays(Math.round(lifetime))})`;
}

function deployed(observed: ObservedRegion[]): { region: string; facts: CertificateFacts }[] {
  return observed.flatMap((entry) => (entry.facts ? [{ region: entry.region, facts: entry.facts }] : []));
}

export function earliestExpiring(observed: ObservedRegion[]): CertificateFacts | undefined {
  return deployed(observed)
    .map((entry) => entry.facts)
    .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
}

function sorted(values: string[]): string[] {
  return [...values].map((value) => value.toLowerCase()).sort();
}

function iso(date: Date): string {
  return date.toISOString();
}
