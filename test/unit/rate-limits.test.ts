import { describe, expect, it } from 'vitest';
import {
  bucketEmptyUntil,
  emptyLedger,
  LETS_ENCRYPT_PRODUCTION,
  LETS_ENCRYPT_STAGING,
  pruneLedger,
  rateLimitBlocks,
  rateLimitPolicy,
  usableLedger,
  type PlannedOrder,
  type RateLimitLedger,
} from '../../src/policy/rate-limits.js';

const now = new Date('2026-11-22T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const ahead = (ms: number) => new Date(now.getTime() + ms).toISOString();
const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const domains = ['www.example.com', 'example.com'];
const identifiers = 'example.com,www.example.com';
const letsEncrypt = rateLimitPolicy(undefined, LETS_ENCRYPT_PRODUCTION);
const order = (more: Partial<PlannedOrder> = {}): PlannedOrder => ({ domains, willReplace: false, renewsSameNames: false, ...more });

function ledger(change: (l: RateLimitLedger) => void): RateLimitLedger {
  const l = emptyLedger();
  change(l);
  return l;
}

const issued = (...agesMs: number[]) => ledger((l) => agesMs.forEach((age) => l.issuances.push({ at: ago(age), identifiers, replaced: false })));

describe('which limits apply to a directory', () => {
  it("Let's Encrypt's on its production and staging directories, none elsewhere by default", () => {
    expect(letsEncrypt).toMatchObject({
      source: "Let's Encrypt",
      duplicateCertificates: { count: 5, windowMs: 7 * DAY },
      newOrders: { count: 300, windowMs: 3 * HOUR },
      failedValidations: { count: 5, windowMs: HOUR },
      renewalExemptions: true,
    });
    expect(rateLimitPolicy(undefined, LETS_ENCRYPT_STAGING)).toMatchObject({
      source: "Let's Encrypt staging",
      duplicateCertificates: { count: 30_000 },
      newOrders: { count: 1_500 },
      failedValidations: { count: 60 },
    });
    expect(rateLimitPolicy(undefined, 'https://127.0.0.1:14000/dir')).toEqual({ source: 'none', renewalExemptions: false });
    expect(rateLimitPolicy(undefined, 'https://acme.zerossl.com/v2/DV90')).toEqual({ source: 'none', renewalExemptions: false });
  });

  it('as configured: "letsencrypt" anywhere, "none" even on Let\'s Encrypt, or explicit limits without exemptions', () => {
    expect(rateLimitPolicy('letsencrypt', 'https://ca.internal/acme/directory').source).toBe("Let's Encrypt");
    expect(rateLimitPolicy('none', LETS_ENCRYPT_PRODUCTION).source).toBe('none');
    expect(rateLimitPolicy({ duplicateCertificates: { count: 2, windowHours: 24 } }, LETS_ENCRYPT_PRODUCTION)).toEqual({
      source: 'acme.rateLimits',
      duplicateCertificates: { count: 2, windowMs: DAY },
      newOrders: undefined,
      failedValidations: undefined,
      renewalExemptions: false,
    });
  });

  it('with no limits, holds nothing for certkeeper: six certificates for the same names in a minute go on', () => {
    const none = rateLimitPolicy(undefined, 'https://127.0.0.1:14000/dir');
    const six = issued(10_000, 20_000, 30_000, 40_000, 50_000, 55_000);
    six.orders.push(...Array.from({ length: 400 }, (_, i) => ago(i * 1000)));
    expect(rateLimitBlocks(six, none, order(), now)).toEqual([]);
  });
});

describe("Let's Encrypt's guards (token buckets)", () => {
  it('allow five certificates for exactly the same names at once, hold the sixth until one comes back (every 34 hours)', () => {
    expect(rateLimitBlocks(issued(5 * MINUTE, 4 * MINUTE, 3 * MINUTE, 2 * MINUTE), letsEncrypt, order(), now)).toEqual([]);
    const [block] = rateLimitBlocks(issued(5 * MINUTE, 4 * MINUTE, 3 * MINUTE, 2 * MINUTE, MINUTE), letsEncrypt, order(), now);
    expect(block).toMatchObject({ check: 'DuplicateCertificateLimit', kind: 'guard' });
    // One token back 7 days / 5 = 33.6 h after the bucket ran dry (a little more, for the 4 minutes' refill).
    expect(block!.until.getTime() - now.getTime()).toBeGreaterThan(33 * HOUR);
    expect(block!.until.getTime() - now.getTime()).toBeLessThan(33.6 * HOUR);
    expect(block!.reason).toMatch(/^certificates for exactly these names used up the duplicate limit \(Let's Encrypt: 5 per 7 days, one more every 34 hours\); waiting until /);
  });

  it('are a bucket, not a sliding window: five spread over a week leave room', () => {
    expect(rateLimitBlocks(issued(6 * DAY, 4 * DAY, 3 * DAY, 2 * DAY, DAY), letsEncrypt, order(), now)).toEqual([]);
  });

  it('exempt an ARI renewal (replaces) from every limit, and do not count earlier ARI renewals', () => {
    const full = issued(5 * MINUTE, 4 * MINUTE, 3 * MINUTE, 2 * MINUTE, MINUTE);
    full.orders.push(...Array.from({ length: 300 }, (_, i) => ago(i * 100)));
    full.failedValidations.push(...[1, 2, 3, 4, 5].map((m) => ({ at: ago(m * MINUTE), identifier: 'example.com' })));
    expect(rateLimitBlocks(full, letsEncrypt, order({ willReplace: true }), now)).toEqual([]);
    const replaced = ledger((l) => [1, 2, 3, 4, 5].forEach((m) => l.issuances.push({ at: ago(m * MINUTE), identifiers, replaced: true })));
    expect(rateLimitBlocks(replaced, letsEncrypt, order(), now)).toEqual([]);
  });

  it('hold the 301st new order in 3 hours, but not a renewal of exactly the same names', () => {
    // A burst of 300 in half a minute: less than one order back since (one every 36 s).
    const busy = ledger((l) => Array.from({ length: 300 }, (_, i) => l.orders.push(ago(i * 100))));
    expect(rateLimitBlocks(busy, letsEncrypt, order({ domains: ['other.example.com'] }), now)[0]).toMatchObject({ check: 'NewOrderLimit', kind: 'guard' });
    expect(rateLimitBlocks(busy, letsEncrypt, order({ domains: ['other.example.com'], renewsSameNames: true }), now)).toEqual([]);
  });

  it('hold after 5 failed validations of one name in an hour (wildcards count for their base name)', () => {
    const failing = ledger((l) => [1, 2, 3, 4, 5].forEach((m) => l.failedValidations.push({ at: ago(m * MINUTE), identifier: 'example.com' })));
    const [block] = rateLimitBlocks(failing, letsEncrypt, order({ domains: ['*.example.com'] }), now);
    expect(block).toMatchObject({ check: 'FailedValidationLimit' });
    expect(block!.reason).toContain("Let's Encrypt: 5 per name per hour, one more every 12 minutes");
  });

  it('explicit limits count every certificate, ARI renewals included', () => {
    const custom = rateLimitPolicy({ duplicateCertificates: { count: 2, windowHours: 1 } }, 'https://ca.internal/dir');
    const replaced = ledger((l) => [1, 2].forEach((m) => l.issuances.push({ at: ago(m * MINUTE), identifiers, replaced: true })));
    expect(rateLimitBlocks(replaced, custom, order({ willReplace: true }), now)[0]).toMatchObject({ check: 'DuplicateCertificateLimit' });
    expect(rateLimitBlocks(replaced, custom, order({ willReplace: true }), now)[0]!.reason).toContain('acme.rateLimits: 2 per hour, one more every 30 minutes');
  });

  it('token bucket arithmetic', () => {
    const limit = { count: 2, windowMs: 2 * HOUR }; // one back every hour
    expect(bucketEmptyUntil([ago(10 * MINUTE)], limit, now)).toBeUndefined();
    expect(bucketEmptyUntil([ago(10 * MINUTE), ago(5 * MINUTE)], limit, now)).toEqual(new Date(now.getTime() - 5 * MINUTE + 55 * MINUTE));
    expect(bucketEmptyUntil([ago(90 * MINUTE), ago(5 * MINUTE)], limit, now)).toBeUndefined();
  });
});

describe("the CA's own refusals and clock problems apply whatever the policy", () => {
  const none = rateLimitPolicy('none', LETS_ENCRYPT_PRODUCTION);

  it("waits out the CA's rateLimited answer for those names, saying when it was given", () => {
    const limited = ledger((l) => l.caLimits.push({ identifiers, until: ahead(HOUR), detail: 'too many certificates', at: ago(MINUTE) }));
    expect(rateLimitBlocks(limited, none, order({ willReplace: true }), now)[0]).toMatchObject({ check: 'CaRateLimited', kind: 'ca', since: new Date(ago(MINUTE)) });
    expect(rateLimitBlocks(limited, none, order({ domains: ['other.example.com'] }), now)).toEqual([]);
  });

  it('holds names whose last certificate was not valid by this clock, while the clock still disagrees', () => {
    // Issued by a CA a year behind this clock: the certificate expired long "ago".
    const skewed = ledger((l) => l.clockSkews.push({ identifiers, at: ago(MINUTE), serial: '0a', notBefore: ago(365 * DAY), notAfter: ago(275 * DAY) }));
    const [block] = rateLimitBlocks(skewed, none, order(), now);
    expect(block).toMatchObject({ check: 'ClockSkew', kind: 'clock', until: new Date(now.getTime() + HOUR) });
    expect(block!.reason).toMatch(/^clock problem: .* is not valid by this machine's clock .*set the clock right \(NTP\)/);
    // The clock was set right: the certificate is valid by it now, the entry is moot.
    const agrees = ledger((l) => l.clockSkews.push({ identifiers, at: ago(MINUTE), serial: '0a', notBefore: ago(HOUR), notAfter: ahead(89 * DAY) }));
    expect(rateLimitBlocks(agrees, none, order(), now)).toEqual([]);
    expect(pruneLedger(agrees, now).clockSkews).toEqual([]);
  });
});

describe('the ledger', () => {
  it('discards what a clock that ran ahead recorded: entries in the future, CA blocks beyond the longest Retry-After', () => {
    // Recorded while the clock was a year ahead, read with the clock set right.
    const yearAhead = ledger((l) => {
      l.orders.push(ahead(365 * DAY));
      l.issuances.push(...[1, 2, 3, 4, 5].map(() => ({ at: ahead(365 * DAY), identifiers, replaced: false })));
      l.failedValidations.push({ at: ahead(365 * DAY), identifier: 'example.com' });
      l.caLimits.push({ identifiers, until: ahead(365 * DAY + HOUR), detail: 'too many', at: ahead(365 * DAY) });
      l.caLimits.push({ identifiers, until: ahead(300 * DAY), detail: 'from an older ledger without "at"' });
      l.clockSkews.push({ identifiers, at: ahead(365 * DAY), serial: '0a', notBefore: ago(MINUTE), notAfter: ahead(90 * DAY) });
    });
    expect(usableLedger(yearAhead, now)).toEqual(emptyLedger());
    expect(rateLimitBlocks(yearAhead, letsEncrypt, order(), now)).toEqual([]);
    // A clock a few minutes ahead on another agent is believed.
    const close = ledger((l) => l.caLimits.push({ identifiers, until: ahead(HOUR), detail: 'x', at: ahead(2 * MINUTE) }));
    expect(usableLedger(close, now).caLimits).toHaveLength(1);
  });

  it('prunes what no window needs any more', () => {
    const old = ledger((l) => {
      l.orders.push(ago(8 * DAY), ago(HOUR));
      l.issuances.push({ at: ago(8 * DAY), identifiers: 'a', replaced: false });
      l.failedValidations.push({ at: ago(8 * DAY), identifier: 'a' }, { at: ago(2 * HOUR), identifier: 'a' });
      l.caLimits.push({ identifiers: 'a', until: ago(1), detail: 'x' });
    });
    expect(pruneLedger(old, now)).toEqual({ ...emptyLedger(), orders: [ago(HOUR)], failedValidations: [{ at: ago(2 * HOUR), identifier: 'a' }] });
  });

  it('reads ledgers written before clock skews were recorded', () => {
    const { clockSkews: _none, ...older } = emptyLedger();
    expect(rateLimitBlocks(older as RateLimitLedger, letsEncrypt, order(), now)).toEqual([]);
  });
});
