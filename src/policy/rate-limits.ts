import { Check } from './checks.js';
import type { RateLimitBlock } from './decision-input.js';
import { clockDisagrees, usableLedger, type RateLimitLedger } from '../store/rate-limit-ledger.js';

// The ledger is the store's (what the CA counted, and what of it can be believed); re-exported for the policy's readers.
export { CLOCK_TOLERANCE_MS } from '../store/clock-tolerance.js';
export { emptyLedger, MAX_CA_RETRY_AFTER_MS, MAX_LIMIT_WINDOW_MS, pruneLedger, usableLedger, type RateLimitLedger } from '../store/rate-limit-ledger.js';

/**
 * Rate-limit guards: certkeeper stops *before* a CA's limits instead of learning them from refusals,
 * but only for the CA whose limits it knows (`acme.rateLimits`). The CA's own refusals (`rateLimited`
 * with Retry-After) are always honoured, whatever the setting.
 */

/** One limit as the config writes it: `count` in any `windowHours`. */
export interface ConfiguredLimit {
  count: number;
  windowHours: number;
}

/** `acme.rateLimits`: a CA's published limits by name, none, or explicit ones. */
export type RateLimitSetting = 'letsencrypt' | 'none' | { duplicateCertificates?: ConfiguredLimit; newOrders?: ConfiguredLimit; failedValidations?: ConfiguredLimit };

export interface Limit {
  count: number;
  windowMs: number;
}

/** The limits in force for one ACME directory. */
export interface RateLimitPolicy {
  /** Whose limits, as reasons name them ("Let's Encrypt", "acme.rateLimits"); "none" when no guard applies. */
  source: string;
  /** Certificates for exactly the same set of names. */
  duplicateCertificates?: Limit;
  /** newOrder requests the CA accepted, per account. */
  newOrders?: Limit;
  /** Failed validations of one name, per account. */
  failedValidations?: Limit;
  /**
   * Let's Encrypt's renewal exemptions: an order with ARI `replaces` is exempt from every limit, and an
   * order for exactly the names of a certificate already issued from the new-orders limit.
   */
  renewalExemptions: boolean;
}

export const LETS_ENCRYPT_PRODUCTION = 'https://acme-v02.api.letsencrypt.org/directory';
export const LETS_ENCRYPT_STAGING = 'https://acme-staging-v02.api.letsencrypt.org/directory';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/**
 * Let's Encrypt's limits as https://letsencrypt.org/docs/rate-limits/ states them (revision of
 * 2025-04-01, read for this code): "New Certificates per Exact Set of Hostnames" 5 per 7 days, "New
 * Orders per Account" 300 per 3 hours, "Authorization Failures per Hostname per Account" 5 per hour,
 * each a token bucket (a burst up to the limit, then one more every window/limit). "Limit Exemptions
 * for Renewals": an ARI renewal (`replaces`) is exempt from all limits; an order for exactly the names
 * of an earlier certificate is exempt from new orders and certificates per registered domain.
 * Not guarded here, so only the CA's own refusal applies: certificates per registered domain (50 per 7
 * days; needs the Public Suffix List, and renewals are exempt), consecutive authorization failures
 * (3,600; out of reach with certkeeper's backoff), account registrations and per-second request limits
 * (503 with Retry-After, retried by the ACME client).
 */
const LETS_ENCRYPT: RateLimitPolicy = {
  source: "Let's Encrypt",
  duplicateCertificates: { count: 5, windowMs: 7 * DAY },
  newOrders: { count: 300, windowMs: 3 * HOUR },
  failedValidations: { count: 5, windowMs: HOUR },
  renewalExemptions: true,
};

/**
 * The staging directory, per https://letsencrypt.org/docs/staging-environment/ (revision of
 * 2024-06-11): 30,000 duplicate certificates per week, 1,500 new orders per 3 hours, 60 failed
 * validations per hour; otherwise as production.
 */
const LETS_ENCRYPT_STAGING_LIMITS: RateLimitPolicy = {
  source: "Let's Encrypt staging",
  duplicateCertificates: { count: 30_000, windowMs: 7 * DAY },
  newOrders: { count: 1_500, windowMs: 3 * HOUR },
  failedValidations: { count: 60, windowMs: HOUR },
  renewalExemptions: true,
};

const NONE: RateLimitPolicy = { source: 'none', renewalExemptions: false };

/**
 * The policy for a directory: by default Let's Encrypt's limits on its own directories (production or
 * staging) and none elsewhere (Pebble, step-ca, another CA: their limits are not Let's Encrypt's).
 * Explicit limits apply to every order, without exemptions.
 */
export function rateLimitPolicy(setting: RateLimitSetting | undefined, directoryUrl: string): RateLimitPolicy {
  const letsEncrypt = directoryUrl === LETS_ENCRYPT_STAGING ? LETS_ENCRYPT_STAGING_LIMITS : LETS_ENCRYPT;
  if (setting === undefined) return directoryUrl === LETS_ENCRYPT_PRODUCTION || directoryUrl === LETS_ENCRYPT_STAGING ? letsEncrypt : NONE;
  if (setting === 'letsencrypt') return letsEncrypt;
  if (setting === 'none') return NONE;
  const limit = (configured?: ConfiguredLimit) => configured && { count: configured.count, windowMs: configured.windowHours * HOUR };
  return {
    source: 'acme.rateLimits',
    duplicateCertificates: limit(setting.duplicateCertificates),
    newOrders: limit(setting.newOrders),
    failedValidations: limit(setting.failedValidations),
    renewalExemptions: false,
  };
}

/** While the clock disagrees with the CA, the decision is looked at again this often. */
const CLOCK_RECHECK_MS = HOUR;

export function identifierSetKey(domains: string[]): string {
  return [...new Set(domains.map((domain) => domain.toLowerCase()))].sort().join(',');
}

/** The order the guards judge: its names, whether it sends ARI `replaces`, and whether it renews a certificate for exactly these names. */
export interface PlannedOrder {
  domains: string[];
  willReplace: boolean;
  renewsSameNames: boolean;
}

/** Guards for ordering `order` now under `policy`, plus the CA's own refusals and clock problems, which always apply. */
export function rateLimitBlocks(stored: RateLimitLedger, policy: RateLimitPolicy, order: PlannedOrder, now: Date): RateLimitBlock[] {
  const ledger = usableLedger(stored, now);
  const identifiers = identifierSetKey(order.domains);
  const blocks: RateLimitBlock[] = [];
  const ariExempt = policy.renewalExemptions && order.willReplace;
  const rule = (limit: Limit, per: string) =>
    `${policy.source}: ${limit.count} ${per} ${describeWindow(limit.windowMs)}, one more every ${describeWindow(limit.windowMs / limit.count)}`;

  if (policy.duplicateCertificates && !ariExempt) {
    const limit = policy.duplicateCertificates;
    // Let's Encrypt counts no ARI renewal; explicit limits count every certificate.
    const times = ledger.issuances.filter((entry) => entry.identifiers === identifiers && !(policy.renewalExemptions && entry.replaced)).map((entry) => entry.at);
    const until = bucketEmptyUntil(times, limit, now);
    if (until) {
      blocks.push({
        check: Check.DuplicateCertificateLimit,
        kind: 'guard',
        until,
        reason: `certificates for exactly these names used up the duplicate limit (${rule(limit, 'per')}); waiting until ${until.toISOString()}`,
      });
    }
  }

  if (policy.newOrders && !ariExempt && !(policy.renewalExemptions && order.renewsSameNames)) {
    const limit = policy.newOrders;
    const until = bucketEmptyUntil(ledger.orders, limit, now);
    if (until) {
      blocks.push({
        check: Check.NewOrderLimit,
        kind: 'guard',
        until,
        reason: `new orders on this ACME account used up the limit (${rule(limit, 'per')}); waiting until ${until.toISOString()}`,
      });
    }
  }

  if (policy.failedValidations && !ariExempt) {
    const limit = policy.failedValidations;
    for (const domain of new Set(order.domains.map((d) => d.toLowerCase().replace(/^\*\./, '')))) {
      const until = bucketEmptyUntil(
        ledger.failedValidations.filter((entry) => entry.identifier === domain).map((entry) => entry.at),
        limit,
        now,
      );
      if (until) {
        blocks.push({
          check: Check.FailedValidationLimit,
          kind: 'guard',
          until,
          reason: `failed validations of ${domain} used up the limit (${rule(limit, 'per name per')}); waiting until ${until.toISOString()}`,
        });
      }
    }
  }

  for (const limit of ledger.caLimits) {
    if (limit.identifiers !== identifiers || new Date(limit.until) <= now) continue;
    blocks.push({
      check: Check.CaRateLimited,
      kind: 'ca',
      until: new Date(limit.until),
      since: limit.at ? new Date(limit.at) : undefined,
      reason: `the CA said rateLimited ("${limit.detail}"); waiting until ${limit.until} as it asked`,
    });
  }

  blocks.push(...clockSkewBlocks(ledger, identifiers, now));
  return blocks;
}

/**
 * The last certificate the CA issued for these names was not valid by this machine's clock when it
 * arrived: ordering again would get the same answer. Held (and reported) while the clock still
 * disagrees with that certificate; once it agrees again (the clock was corrected), the entry is moot.
 */
function clockSkewBlocks(ledger: RateLimitLedger, identifiers: string, now: Date): RateLimitBlock[] {
  const latest = ledger.clockSkews.filter((entry) => entry.identifiers === identifiers).at(-1);
  if (!latest || !clockDisagrees(latest, now)) return [];
  const notBefore = new Date(latest.notBefore);
  const ahead = now >= new Date(latest.notAfter);
  const until = new Date(Math.min(now.getTime() + CLOCK_RECHECK_MS, ahead ? Infinity : notBefore.getTime()));
  return [
    {
      check: Check.ClockSkew,
      kind: 'clock',
      until,
      reason: `clock problem: the certificate the CA issued at ${latest.at} (serial ${latest.serial}, valid ${latest.notBefore} to ${latest.notAfter}) is not valid by this machine's clock (now ${now.toISOString()}): set the clock right (NTP); ordering again would get the same answer, so certkeeper does not until then`,
    },
  ];
}

/**
 * A token bucket, as Let's Encrypt counts: `count` tokens, one back every window/count. Replayed over
 * the ledger's times (older ones than the window cannot matter: the bucket is full again by then);
 * returns when the next token comes back if none is left now, else undefined.
 */
export function bucketEmptyUntil(times: string[], limit: Limit, now: Date): Date | undefined {
  const interval = limit.windowMs / limit.count;
  const recent = times
    .map((at) => new Date(at).getTime())
    .filter((at) => now.getTime() - at < limit.windowMs && at <= now.getTime())
    .sort((a, b) => a - b);
  if (recent.length < limit.count) return undefined;
  let tokens = limit.count;
  let last = recent[0]!;
  for (const at of recent) {
    tokens = Math.min(limit.count, tokens + (at - last) / interval) - 1;
    last = at;
  }
  // Whole milliseconds, with room for floating-point dust: at `until` the token is back.
  const until = last + Math.ceil((1 - tokens) * interval - 1e-6);
  return now.getTime() >= until ? undefined : new Date(until);
}

/** "7 days", "3 hours", "hour", "34 hours", "12 minutes": a window or interval in words. */
function describeWindow(ms: number): string {
  const units: [number, string][] = [
    [DAY, 'day'],
    [HOUR, 'hour'],
    [60_000, 'minute'],
    [1_000, 'second'],
  ];
  for (const [size, unit] of units) {
    if (ms < size || (ms % size !== 0 && ms < 2 * size)) continue;
    const n = Math.round(ms / size);
    return n === 1 ? unit : `${n} ${unit}s`;
  }
  return `${Math.round(ms)} ms`;
}
