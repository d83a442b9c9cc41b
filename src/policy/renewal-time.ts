import type { RenewBefore } from '../config/schema.js';
import type { CertificateFacts } from '../pki/certificate.js';

// Defined by the config, where it is parsed; re-exported for the policy code that reads it.
export type { RenewBefore };

/** When a deployed certificate is planned to be renewed, and why then. */
export interface RenewalPlan {
  source: 'ari' | 'backstop';
  renewAt: Date;
  windowStart: Date;
  windowEnd: Date;
  description: string;
}

type Validity = Pick<CertificateFacts, 'notBefore' | 'notAfter'>;

const DAY = 86_400_000;

function lifetimeMs(facts: Validity): number {
  return facts.notAfter.getTime() - facts.notBefore.getTime();
}

/** Certificates shorter than 10 days (e.g. 6-day `shortlived`) renew at half their lifetime. */
export function isShortLived(facts: Validity): boolean {
  return lifetimeMs(facts) < 10 * DAY;
}

/** Less than 1/20 of the lifetime left: renew now, whatever the backoff says. */
export function emergencyPoint(facts: Validity): Date {
  return new Date(facts.notAfter.getTime() - lifetimeMs(facts) / 20);
}

/**
 * The backstop used when the CA gives no ARI: one third of the lifetime left (half for short-lived
 * certificates), as certbot and certmagic do, or the configured `renewBefore`, whichever comes first.
 * A ratio keeps working as lifetimes shrink (90 → 64 → 45 days); a fixed "30 days before" would not.
 */
export function backstopPoint(facts: Validity, renewBefore?: RenewBefore): { at: Date; rule: string } {
  const share = isShortLived(facts) ? 1 / 2 : 1 / 3;
  const ratio = { at: new Date(facts.notAfter.getTime() - lifetimeMs(facts) * share), rule: `${share === 0.5 ? 'half' : 'one third'} of its lifetime left` };
  if (!renewBefore) return ratio;
  const configured =
    'days' in renewBefore
      ? { at: new Date(facts.notAfter.getTime() - renewBefore.days * DAY), rule: `renewBefore ${renewBefore.days} days` }
      : { at: new Date(facts.notAfter.getTime() - (lifetimeMs(facts) * renewBefore.percent) / 100), rule: `renewBefore ${renewBefore.percent}% of its lifetime` };
  // As cert-manager does: a renewBefore at least as long as the lifetime would renew on every pass; use the ratio.
  if (configured.at <= facts.notBefore) return { at: ratio.at, rule: `${ratio.rule}; ${configured.rule} is not shorter than the lifetime, so it is ignored` };
  return configured.at < ratio.at ? configured : ratio;
}

/**
 * ARI first (the CA's suggested window, at the moment picked in it), the backstop otherwise; never
 * later than the emergency point, whatever a window says.
 */
export function plannedRenewal(
  facts: Validity,
  now: Date,
  options: { ari?: { start: Date; end: Date; chosenAt: Date; explanationURL?: string }; renewBefore?: RenewBefore },
): RenewalPlan {
  const latest = emergencyPoint(facts);
  const { ari } = options;
  if (ari) {
    const renewAt = new Date(Math.min(ari.chosenAt.getTime(), latest.getTime()));
    const ended = ari.end <= now ? `; the window ended at ${ari.end.toISOString()}, so renew now` : '';
    return {
      source: 'ari',
      renewAt,
      windowStart: ari.start,
      windowEnd: ari.end,
      description: `the CA suggests renewing between ${ari.start.toISOString()} and ${ari.end.toISOString()} (ARI)${ended}${ari.explanationURL ? ` (see ${ari.explanationURL})` : ''}`,
    };
  }
  const backstop = backstopPoint(facts, options.renewBefore);
  return {
    source: 'backstop',
    renewAt: new Date(Math.min(backstop.at.getTime(), latest.getTime())),
    windowStart: backstop.at,
    windowEnd: latest,
    description: `no renewal information from the CA: renewal due from ${backstop.at.toISOString()} (${backstop.rule})`,
  };
}

/** A uniformly random moment in the window: chosen once and stored, so a fleet spreads its renewals. */
export function pickMomentIn(window: { start: Date; end: Date }, random: () => number = Math.random): Date {
  const span = Math.max(0, window.end.getTime() - window.start.getTime());
  return new Date(window.start.getTime() + Math.floor(random() * span));
}

export function formatDays(days: number): string {
  if (days >= 2) return `${Math.floor(days)} days`;
  const hours = days * 24;
  return hours >= 2 ? `${Math.floor(hours)} hours` : `${Math.max(0, Math.floor(hours * 60))} minutes`;
}
