import { describe, expect, it } from 'vitest';
import { emptyLedger, pruneLedger, rateLimitBlocks, type RateLimitLedger } from '../../src/policy/rate-limits.js';

const now = new Date('2026-11-22T12:00:00Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const domains = ['www.example.com', 'example.com'];

function ledger(change: (l: RateLimitLedger) => void): RateLimitLedger {
  const l = emptyLedger();
  change(l);
  return l;
}

describe('rate-limit guards', () => {
  it('allow the fifth certificate for the same names in 7 days, refuse the sixth until the oldest ages out', () => {
    const four = ledger((l) => [1, 2, 3, 4].forEach((d) => l.issuances.push({ at: ago(d * DAY), identifiers: 'example.com,www.example.com', replaced: false })));
    expect(rateLimitBlocks(four, domains, false, now)).toEqual([]);
    const five = ledger((l) => [1, 2, 3, 4, 6].forEach((d) => l.issuances.push({ at: ago(d * DAY), identifiers: 'example.com,www.example.com', replaced: false })));
    const [block] = rateLimitBlocks(five, domains, false, now);
    expect(block).toMatchObject({ check: 'DuplicateCertificateLimit', until: new Date(now.getTime() + DAY) });
    expect(block!.reason).toBe('5 certificates for exactly these names in the last 7 days (limit 5); waiting until 2026-11-23T12:00:00.000Z');
  });

  it('does not count ARI renewals (with replaces), nor hold one back', () => {
    const replaced = ledger((l) => [1, 2, 3, 4, 5].forEach((d) => l.issuances.push({ at: ago(d * HOUR), identifiers: 'example.com,www.example.com', replaced: true })));
    expect(rateLimitBlocks(replaced, domains, false, now)).toEqual([]);
    const plain = ledger((l) => [1, 2, 3, 4, 5].forEach((d) => l.issuances.push({ at: ago(d * HOUR), identifiers: 'example.com,www.example.com', replaced: false })));
    expect(rateLimitBlocks(plain, domains, true, now)).toEqual([]);
  });

  it('refuses the 301st new order in 3 hours on one account', () => {
    const busy = ledger((l) => Array.from({ length: 300 }, (_, i) => l.orders.push(ago(i * 30_000))));
    expect(rateLimitBlocks(busy, ['other.example.com'], false, now)[0]).toMatchObject({ check: 'NewOrderLimit' });
  });

  it('refuses after 5 failed validations of one name in an hour (wildcards count for their base name)', () => {
    const failing = ledger((l) => [1, 2, 3, 4, 5].forEach((m) => l.failedValidations.push({ at: ago(m * 60_000), identifier: 'example.com' })));
    const [block] = rateLimitBlocks(failing, ['*.example.com'], false, now);
    expect(block).toMatchObject({ check: 'FailedValidationLimit', until: new Date(now.getTime() - 5 * 60_000 + HOUR) });
  });

  it("waits out the CA's own rateLimited answer", () => {
    const limited = ledger((l) => l.caLimits.push({ identifiers: 'example.com,www.example.com', until: new Date(now.getTime() + HOUR).toISOString(), detail: 'too many certificates' }));
    expect(rateLimitBlocks(limited, domains, true, now)[0]).toMatchObject({ check: 'CaRateLimited' });
    expect(rateLimitBlocks(limited, ['other.example.com'], false, now)).toEqual([]);
  });

  it('prunes what no window needs any more', () => {
    const old = ledger((l) => {
      l.orders.push(ago(4 * HOUR), ago(HOUR));
      l.issuances.push({ at: ago(8 * DAY), identifiers: 'a', replaced: false });
      l.failedValidations.push({ at: ago(2 * HOUR), identifier: 'a' });
      l.caLimits.push({ identifiers: 'a', until: ago(1), detail: 'x' });
    });
    expect(pruneLedger(old, now)).toEqual({ orders: [ago(HOUR)], issuances: [], failedValidations: [], caLimits: [] });
  });
});
