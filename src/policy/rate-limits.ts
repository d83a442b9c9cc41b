import type { RateLimitBlock } from './decide.js';

/**
 * What the agent has asked of the CA, kept per ACME account, so it stops *before* the CA's limits
 * (Let's Encrypt's published ones) instead of learning them from errors.
 */
export interface RateLimitLedger {
  /** newOrder requests, ISO times. */
  orders: string[];
  /** Certificates issued, per identifier set (sorted, comma-joined); `replaced`: ordered with ARI `replaces`. */
  issuances: { at: string; identifiers: string; replaced: boolean }[];
  /** Failed DNS-01 validations, per identifier. */
  failedValidations: { at: string; identifier: string }[];
  /** The CA answered `rateLimited` with a Retry-After: nothing for these identifiers until then. */
  caLimits: { identifiers: string; until: string; detail: string }[];
}

export const LIMITS = {
  duplicateCertificates: { count: 5, windowMs: 7 * 86_400_000 },
  newOrders: { count: 300, windowMs: 3 * 3_600_000 },
  failedValidations: { count: 5, windowMs: 3_600_000 },
};

export function emptyLedger(): RateLimitLedger {
  return { orders: [], issuances: [], failedValidations: [], caLimits: [] };
}

export function identifierSetKey(domains: string[]): string {
  return [...new Set(domains.map((domain) => domain.toLowerCase()))].sort().join(',');
}

/** Guards for ordering `domains` now; a renewal that will send ARI `replaces` is exempt from the duplicate limit. */
export function rateLimitBlocks(ledger: RateLimitLedger, domains: string[], willReplace: boolean, now: Date): RateLimitBlock[] {
  const identifiers = identifierSetKey(domains);
  const blocks: RateLimitBlock[] = [];
  const recent = (times: string[], windowMs: number) => times.map((at) => new Date(at)).filter((at) => now.getTime() - at.getTime() < windowMs).sort((a, b) => a.getTime() - b.getTime());
  const untilRoom = (times: Date[], limit: { count: number; windowMs: number }) => new Date(times[times.length - limit.count]!.getTime() + limit.windowMs);

  if (!willReplace) {
    const duplicates = recent(
      ledger.issuances.filter((entry) => entry.identifiers === identifiers && !entry.replaced).map((entry) => entry.at),
      LIMITS.duplicateCertificates.windowMs,
    );
    if (duplicates.length >= LIMITS.duplicateCertificates.count) {
      const until = untilRoom(duplicates, LIMITS.duplicateCertificates);
      blocks.push({
        check: 'DuplicateCertificateLimit',
        until,
        reason: `${duplicates.length} certificates for exactly these names in the last 7 days (limit ${LIMITS.duplicateCertificates.count}); waiting until ${until.toISOString()}`,
      });
    }
  }

  const orders = recent(ledger.orders, LIMITS.newOrders.windowMs);
  if (orders.length >= LIMITS.newOrders.count) {
    const until = untilRoom(orders, LIMITS.newOrders);
    blocks.push({ check: 'NewOrderLimit', until, reason: `${orders.length} new orders on this ACME account in the last 3 hours (limit ${LIMITS.newOrders.count}); waiting until ${until.toISOString()}` });
  }

  for (const domain of new Set(domains.map((d) => d.toLowerCase().replace(/^\*\./, '')))) {
    const failures = recent(
      ledger.failedValidations.filter((entry) => entry.identifier === domain).map((entry) => entry.at),
      LIMITS.failedValidations.windowMs,
    );
    if (failures.length >= LIMITS.failedValidations.count) {
      const until = untilRoom(failures, LIMITS.failedValidations);
      blocks.push({
        check: 'FailedValidationLimit',
        until,
        reason: `${failures.length} failed validations for ${domain} in the last hour (limit ${LIMITS.failedValidations.count}); waiting until ${until.toISOString()}`,
      });
    }
  }

  for (const limit of ledger.caLimits) {
    if (limit.identifiers !== identifiers || new Date(limit.until) <= now) continue;
    blocks.push({ check: 'CaRateLimited', until: new Date(limit.until), reason: `the CA said rateLimited ("${limit.detail}"); waiting until ${limit.until} as it asked` });
  }
  return blocks;
}

/** Drops entries older than every window, so the ledger stays small. */
export function pruneLedger(ledger: RateLimitLedger, now: Date): RateLimitLedger {
  const keep = (at: string, windowMs: number) => now.getTime() - new Date(at).getTime() < windowMs;
  return {
    orders: ledger.orders.filter((at) => keep(at, LIMITS.newOrders.windowMs)),
    issuances: ledger.issuances.filter((entry) => keep(entry.at, LIMITS.duplicateCertificates.windowMs)),
    failedValidations: ledger.failedValidations.filter((entry) => keep(entry.at, LIMITS.failedValidations.windowMs)),
    caLimits: ledger.caLimits.filter((entry) => new Date(entry.until) > now),
  };
}
