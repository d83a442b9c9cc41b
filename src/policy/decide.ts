import type { KeyType } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';

/**
 * The renewal decision: a pure function of (spec, observation, now), made of small named checks in
 * order, like cert-manager's trigger policies. Every check that fires adds a reason in words; `status`
 * prints exactly these reasons. No I/O here.
 */

export interface DesiredCertificate {
  domains: string[];
  keyType: KeyType;
  regions: string[];
}

export interface ObservedRegion {
  region: string;
  certificateArn?: string;
  facts?: CertificateFacts;
}

export interface DecisionInput {
  desired: DesiredCertificate;
  observed: ObservedRegion[];
  now: Date;
  force?: boolean;
}

export type Decision =
  | { action: 'renew'; reasons: string[]; checks: string[] }
  | { action: 'none'; reasons: string[]; checks: string[]; renewAt: Date };

interface Finding {
  check: string;
  reason: string;
}

type Check = (input: DecisionInput) => Finding | Finding[] | null;

const forced: Check = ({ force }) => (force ? { check: 'Forced', reason: 'renewal forced (--force)' } : null);

const notDeployed: Check = ({ desired, observed }) =>
  desired.regions
    .filter((region) => !observed.find((entry) => entry.region === region)?.facts)
    .map((region) => {
      const arn = observed.find((entry) => entry.region === region)?.certificateArn;
      return {
        check: 'NotDeployed',
        reason: arn ? `configured certificate ${arn} in ${region} does not exist` : `no certificate deployed in ACM in ${region}`,
      };
    });

const domainsDiffer: Check = ({ desired, observed }) => {
  const wanted = sorted(desired.domains);
  return deployed(observed)
    .filter(({ facts }) => sorted(facts.domains).join(',') !== wanted.join(','))
    .map(({ region, facts }) => ({
      check: 'DomainsDiffer',
      reason: `domains differ in ${region}: deployed ${facts.domains.join(', ')}; configured ${wanted.join(', ')}`,
    }));
};

const keyTypeDiffers: Check = ({ desired, observed }) =>
  deployed(observed)
    .filter(({ facts }) => facts.keyType !== desired.keyType)
    .map(({ region, facts }) => ({
      check: 'KeyTypeDiffers',
      reason: `key type differs in ${region}: deployed ${facts.keyType}; configured ${desired.keyType}`,
    }));

const regionsOutOfStep: Check = ({ observed }) => {
  const serials = new Set(deployed(observed).map(({ facts }) => facts.serial));
  if (serials.size <= 1) return null;
  return {
    check: 'RegionsOutOfStep',
    reason: `regions hold different certificates (${deployed(observed)
      .map(({ region, facts }) => `${region}: ${facts.serial}`)
      .join(', ')})`,
  };
};

const expired: Check = ({ observed, now }) =>
  deployed(observed)
    .filter(({ facts }) => facts.notAfter <= now)
    .map(({ region, facts }) => ({ check: 'Expired', reason: `expired in ${region} on ${facts.notAfter.toISOString()}` }));

const renewalWindow: Check = ({ observed, now }) => {
  const soonest = earliestExpiring(observed);
  if (!soonest || soonest.notAfter <= now) return null;
  const renewAt = renewalPoint(soonest);
  if (now < renewAt) return null;
  return {
    check: 'InRenewalWindow',
    reason: `${describeRemaining(soonest, now)}: less than ${isShortLived(soonest) ? 'half' : 'one third'} of its lifetime left (renewal due since ${renewAt.toISOString()})`,
  };
};

/** Order matters only for how reasons read: the most fundamental first. */
const CHECKS: Check[] = [forced, notDeployed, domainsDiffer, keyTypeDiffers, regionsOutOfStep, expired, renewalWindow];

export function decide(input: DecisionInput): Decision {
  const findings = CHECKS.flatMap((check) => {
    const found = check(input);
    return found === null ? [] : Array.isArray(found) ? found : [found];
  });
  if (findings.length > 0) {
    return { action: 'renew', reasons: findings.map((f) => f.reason), checks: findings.map((f) => f.check) };
  }
  const soonest = earliestExpiring(input.observed)!;
  const renewAt = renewalPoint(soonest);
  return {
    action: 'none',
    renewAt,
    checks: ['UpToDate'],
    reasons: [`${describeRemaining(soonest, input.now)}; renewal due from ${renewAt.toISOString()} (${isShortLived(soonest) ? 'half' : 'one third'} of its lifetime left)`],
  };
}

/**
 * When one third of the lifetime is left (half for certificates shorter than 10 days), as certmagic
 * and certbot do: a ratio keeps working as CAs shorten lifetimes (90 → 64 → 45 days), a fixed
 * "30 days before" would not.
 */
export function renewalPoint(facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>): Date {
  const lifetime = facts.notAfter.getTime() - facts.notBefore.getTime();
  const remainingShare = isShortLived(facts) ? 1 / 2 : 1 / 3;
  return new Date(facts.notAfter.getTime() - lifetime * remainingShare);
}

function isShortLived(facts: Pick<CertificateFacts, 'notBefore' | 'notAfter'>): boolean {
  return facts.notAfter.getTime() - facts.notBefore.getTime() < 10 * 86_400_000;
}

function describeRemaining(facts: CertificateFacts, now: Date): string {
  const days = (facts.notAfter.getTime() - now.getTime()) / 86_400_000;
  const lifetime = (facts.notAfter.getTime() - facts.notBefore.getTime()) / 86_400_000;
  return `valid until ${facts.notAfter.toISOString()} (${formatDays(days)} left of ${formatDays(Math.round(lifetime))})`;
}

function formatDays(days: number): string {
  if (days >= 2) return `${Math.floor(days)} days`;
  const hours = days * 24;
  return hours >= 2 ? `${Math.floor(hours)} hours` : `${Math.max(0, Math.floor(hours * 60))} minutes`;
}

function deployed(observed: ObservedRegion[]): { region: string; facts: CertificateFacts }[] {
  return observed.flatMap((entry) => (entry.facts ? [{ region: entry.region, facts: entry.facts }] : []));
}

function earliestExpiring(observed: ObservedRegion[]): CertificateFacts | undefined {
  return deployed(observed)
    .map((entry) => entry.facts)
    .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
}

function sorted(values: string[]): string[] {
  return [...values].map((value) => value.toLowerCase()).sort();
}
