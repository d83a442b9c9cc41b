import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffUntil } from '../../src/policy/backoff.js';
import { Check, checksAndReasons } from '../../src/policy/checks.js';
import { decide as decideFindings, type AriWindow, type DecisionInput, type ObservedRegion } from '../../src/policy/decide.js';
import { backstopPoint, emergencyPoint, pickMomentIn, plannedRenewal } from '../../src/policy/renewal-time.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';

/** The decision as the contracts show it (`renewal.decided`, `status --json`): its findings as `checks` and `reasons`. */
function decide(input: DecisionInput) {
  const decision = decideFindings(input);
  return { ...decision, ...checksAndReasons(decision.findings) };
}

const DAY = 86_400_000;
const MINUTE = 60_000;
const issuedAt = new Date('2026-11-01T00:00:00Z');

function facts(lifetimeDays = 90, overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  return {
    serial: 'abc',
    notBefore: issuedAt,
    notAfter: new Date(issuedAt.getTime() + lifetimeDays * DAY),
    domains: ['api.example.com', 'www.example.com'],
    keyType: 'ecdsa-p256',
    issuer: 'CN=test',
    usages: { keyUsages: ['digitalSignature'], extendedKeyUsages: ['serverAuth'] },
    ...overrides,
  };
}

const desired = { domains: ['www.example.com', 'api.example.com'], keyType: 'ecdsa-p256' as const, regions: ['us-east-1'] };
const deployed = (f: CertificateFacts = facts()): ObservedRegion[] => [{ region: 'us-east-1', certificateArn: 'arn:x', facts: f }];
const at = (days: number) => new Date(issuedAt.getTime() + days * DAY);
const input = (now: Date, more: Partial<DecisionInput> = {}): DecisionInput => ({ desired, observed: deployed(), now, ...more });

describe('renewal decision: the backstop (no ARI)', () => {
  it('leaves a fresh certificate alone and says until when', () => {
    const decision = decide(input(at(10)));
    expect(decision).toMatchObject({ action: 'none', checks: ['UpToDate'], renewAt: at(60) });
    expect(decision.reasons).toEqual([
      'valid until 2027-01-30T00:00:00.000Z (80 days left of 90 days); no renewal information from the CA: renewal due from 2026-12-31T00:00:00.000Z (one third of its lifetime left); renewing at 2026-12-31T00:00:00.000Z',
    ]);
  });

  it.each([
    [90, 60],
    [64, 64 * (2 / 3)],
    [45, 30],
  ])('renews a %i-day certificate when a third is left (day %d)', (lifetime, dueDay) => {
    const f = facts(lifetime);
    expect(decide(input(new Date(at(dueDay).getTime() - MINUTE), { observed: deployed(f) })).action).toBe('none');
    const decision = decide(input(at(dueDay), { observed: deployed(f) }));
    expect(decision).toMatchObject({ action: 'renew', checks: ['InRenewalWindow'] });
    expect(decision.reasons[0]).toContain('(one third of its lifetime left); due since');
  });

  it('renews a 6-day certificate at half its lifetime', () => {
    const f = facts(6);
    expect(backstopPoint(f).at).toEqual(at(3));
    expect(decide(input(at(2.9), { observed: deployed(f) })).action).toBe('none');
    expect(decide(input(at(3), { observed: deployed(f) })).reasons[0]).toContain('(half of its lifetime left)');
  });

  it('uses renewBefore when it comes first, the ratio otherwise', () => {
    expect(backstopPoint(facts(90), { days: 40 })).toEqual({ at: at(50), rule: 'renewBefore 40 days' });
    expect(backstopPoint(facts(90), { days: 10 }).at).toEqual(at(60));
    expect(backstopPoint(facts(90), { percent: 50 })).toEqual({ at: at(45), rule: 'renewBefore 50% of its lifetime' });
  });

  it('ignores a renewBefore as long as the lifetime, which would renew on every pass', () => {
    expect(backstopPoint(facts(6), { days: 30 })).toEqual({
      at: at(3),
      rule: 'half of its lifetime left; renewBefore 30 days is not shorter than the lifetime, so it is ignored',
    });
  });
});

describe('renewal decision: triggers', () => {
  it('renews what is not deployed, naming the region', () => {
    const decision = decide({ ...input(at(1)), desired: { ...desired, regions: ['us-east-1', 'eu-west-1'] } });
    expect(decision).toMatchObject({ action: 'renew', checks: ['NotDeployed'], reasons: ['no certificate deployed in ACM in eu-west-1'] });
  });

  it('renews when a configured ARN does not exist, and when nothing is deployed at all', () => {
    expect(decide(input(at(1), { observed: [{ region: 'us-east-1', certificateArn: 'arn:gone' }] })).reasons).toEqual([
      'configured certificate arn:gone in us-east-1 does not exist',
    ]);
    expect(decide(input(at(1), { observed: [] })).action).toBe('renew');
  });

  it('renews when the domains or the key type differ from the spec', () => {
    const decision = decide({ ...input(at(1)), desired: { ...desired, domains: ['api.example.com'], keyType: 'rsa-2048' } });
    expect(decision.checks).toEqual(['DomainsDiffer', 'KeyTypeDiffers']);
    expect(decision.reasons).toEqual([
      'domains differ in us-east-1: deployed api.example.com, www.example.com; configured api.example.com',
      'key type differs in us-east-1: deployed ecdsa-p256; configured rsa-2048',
    ]);
  });

  it('renews when regions hold different certificates', () => {
    const observed = [...deployed(), { region: 'eu-west-1', certificateArn: 'arn:y', facts: facts(90, { serial: 'def' }) }];
    expect(decide({ ...input(at(1), { observed }), desired: { ...desired, regions: ['us-east-1', 'eu-west-1'] } }).checks).toEqual(['RegionsOutOfStep']);
  });

  it('renews an expired certificate and says when it expired', () => {
    const decision = decide(input(at(91)));
    expect(decision).toMatchObject({ action: 'renew', checks: ['Expired', 'InRenewalWindow'] });
    expect(decision.reasons[0]).toBe('expired in us-east-1 on 2027-01-30T00:00:00.000Z');
  });

  it('declares an emergency with less than 1/20 of the lifetime left', () => {
    expect(emergencyPoint(facts(90))).toEqual(at(85.5));
    const decision = decide(input(at(86)));
    expect(decision.checks).toEqual(['Emergency', 'InRenewalWindow']);
    expect(decision.reasons[0]).toContain('less than 1/20 of its lifetime left, renewing now whatever the backoff');
  });

  it('renews on --force whatever the expiry', () => {
    expect(decide(input(at(1), { force: true }))).toMatchObject({ action: 'renew', reasons: ['renewal forced (--force)'] });
  });
});

describe('renewal decision: ARI', () => {
  const window = (startDay: number, endDay: number, chosenDay: number): AriWindow => ({ start: at(startDay), end: at(endDay), chosenAt: at(chosenDay) });

  it('waits while the suggested window is in the future, and plans the chosen moment', () => {
    const decision = decide(input(at(50), { ari: window(55, 62, 58) }));
    expect(decision).toMatchObject({ action: 'none', renewAt: at(58), plan: { source: 'ari' } });
    expect(decision.reasons[0]).toContain('the CA suggests renewing between 2026-12-26T00:00:00.000Z and 2027-01-02T00:00:00.000Z (ARI)');
  });

  it('ARI overrides the ratio: a later window is waited for, an earlier one acted on', () => {
    expect(decide(input(at(61), { ari: window(62, 70, 65) })).action).toBe('none');
    expect(decide(input(at(30), { ari: window(20, 40, 25) }))).toMatchObject({ action: 'renew', checks: ['AriWindowOpen'] });
  });

  it('renews at the stored moment inside an open window, not before', () => {
    expect(decide(input(at(56), { ari: window(55, 62, 58) })).action).toBe('none');
    expect(decide(input(at(58), { ari: window(55, 62, 58) })).action).toBe('renew');
  });

  it('renews now when the CA moves the window into the past (e.g. a revocation)', () => {
    const decision = decide(input(at(10), { ari: window(5, 6, 5.5) }));
    expect(decision.action).toBe('renew');
    expect(decision.reasons[0]).toContain('the window ended at 2026-11-07T00:00:00.000Z, so renew now');
  });

  it('never plans later than the emergency point, whatever the window says', () => {
    expect(plannedRenewal(facts(90), at(1), { ari: window(88, 89, 88.5) }).renewAt).toEqual(at(85.5));
  });

  it('picks a moment inside the window', () => {
    const w = { start: at(55), end: at(62) };
    expect(pickMomentIn(w, () => 0)).toEqual(at(55));
    expect(pickMomentIn(w, () => 0.5)).toEqual(at(58.5));
    expect(pickMomentIn(w, () => 0.999999).getTime()).toBeLessThan(at(62).getTime());
  });
});

describe('renewal decision: failure backoff', () => {
  it('waits about 1 min, 10 min, 100 min, then a day between tries', () => {
    const last = at(61);
    expect([1, 2, 3, 4, 9].map((n) => (backoffUntil(n, last).getTime() - last.getTime()) / MINUTE)).toEqual([1, 10, 100, 1440, 1440]);
  });

  it('holds a due renewal back during the backoff and says until when', () => {
    const history = { consecutiveFailures: 2, lastFailureAt: at(61) };
    const held = decide(input(new Date(at(61).getTime() + 5 * MINUTE), { history }));
    expect(held).toMatchObject({ action: 'none', checks: ['InRenewalWindow', 'Backoff'], renewAt: new Date(at(61).getTime() + 10 * MINUTE) });
    expect(held.reasons[1]).toBe('waiting until 2027-01-01T00:10:00.000Z before trying again: 2 failed attempts in a row (last at 2027-01-01T00:00:00.000Z)');
    expect(decide(input(new Date(at(61).getTime() + 10 * MINUTE), { history })).action).toBe('renew');
  });

  it('never backs off past the emergency point, and not at all in an emergency or when forced', () => {
    expect(backoffUntil(4, at(85), facts(90))).toEqual(at(85.5));
    expect(decide(input(at(85.6), { history: { consecutiveFailures: 4, lastFailureAt: at(85.55) } })).action).toBe('renew');
    expect(decide(input(at(10), { force: true, history: { consecutiveFailures: 4, lastFailureAt: at(10) } })).action).toBe('renew');
  });

  it('follows a failure sequence through a whole lifetime and still renews before the emergency point', () => {
    // Every attempt fails from day 60 on: attempts are spaced by the backoff and never stop for long.
    const f = facts(90);
    let history = { consecutiveFailures: 0, lastFailureAt: undefined as Date | undefined };
    const attempts: Date[] = [];
    for (let t = at(59).getTime(); t < f.notAfter.getTime(); t += MINUTE) {
      const now = new Date(t);
      if (decide(input(now, { history })).action === 'renew') {
        attempts.push(now);
        history = { consecutiveFailures: history.consecutiveFailures + 1, lastFailureAt: now };
      }
    }
    expect(attempts[0]).toEqual(at(60));
    const gaps = attempts.slice(1, 5).map((a, i) => (a.getTime() - attempts[i]!.getTime()) / MINUTE);
    expect(gaps).toEqual([1, 10, 100, 1440]);
    // In the emergency period it tries every minute, ignoring the day-long backoff.
    expect(attempts.filter((a) => a >= emergencyPoint(f)).length).toBeGreaterThan(100);
  });
});

describe('renewal decision: backoff bounded by the lifetime left', () => {
  const SECOND = 1_000;
  const shortLived = (lifetimeSeconds: number, issued = issuedAt) => facts(0, { notBefore: issued, notAfter: new Date(issued.getTime() + lifetimeSeconds * SECOND) });

  it('waits at most a quarter of the time left: after an outage the certificates closest to expiry try first', () => {
    // 120-second certificates; the CA was down, each failed once at the same moment.
    const failedAt = new Date(issuedAt.getTime() + 60 * SECOND);
    const waits = [0, 20, 40].map((issuedEarlier) => {
      const f = shortLived(120, new Date(issuedAt.getTime() - issuedEarlier * SECOND));
      return (backoffUntil(1, failedAt, f).getTime() - failedAt.getTime()) / SECOND;
    });
    // 60, 40 and 20 s left: 15, 10 and 5 s instead of the step's minute.
    expect(waits).toEqual([15, 10, 5]);
  });

  it('leaves long lifetimes to the steps, and retries an expired certificate no faster than a thousandth of its lifetime (1 s to 1 min)', () => {
    expect(backoffUntil(4, at(60), facts(90))).toEqual(new Date(at(60).getTime() + DAY));
    expect(backoffUntil(4, at(95), facts(90)).getTime() - at(95).getTime()).toBe(MINUTE);
    const f = shortLived(120);
    const late = new Date(f.notAfter.getTime() + 5 * SECOND);
    expect(backoffUntil(3, late, f).getTime() - late.getTime()).toBe(SECOND);
  });

  it('plans the next look of a failing certificate inside its lifetime, never past the emergency point', () => {
    const f = shortLived(120);
    const failedAt = new Date(issuedAt.getTime() + 100 * SECOND);
    expect(backoffUntil(2, failedAt, f).getTime()).toBeLessThanOrEqual(emergencyPoint(f).getTime());
  });

  it('does not believe a failure recorded in the future (a clock that ran ahead): no backoff from it', () => {
    const history = { consecutiveFailures: 4, lastFailureAt: at(61 + 365) };
    expect(decide(input(at(61), { history })).action).toBe('renew');
  });
});

describe('renewal decision: rate-limit guards', () => {
  const block = { check: Check.DuplicateCertificateLimit, kind: 'guard' as const, until: at(70), reason: '5 certificates for exactly these names in the last 7 days (limit 5)' };

  it('hold even a forced renewal, unless asked to ignore them', () => {
    expect(decide(input(at(1), { force: true, rateLimits: [block] }))).toMatchObject({ action: 'none', renewAt: at(70), checks: ['Forced', 'DuplicateCertificateLimit'] });
    expect(decide(input(at(1), { force: true, ignoreRateLimits: true, rateLimits: [block] })).action).toBe('renew');
  });

  it('are ignored once expired', () => {
    expect(decide(input(at(71), { rateLimits: [block] })).action).toBe('renew');
  });

  it('never hold quietly into expiry: a hold past the emergency point is failing, and ends at that point', () => {
    const long = { ...block, until: at(89) };
    const held = decide(input(at(61), { rateLimits: [long] }));
    expect(held).toMatchObject({ action: 'none', checks: ['InRenewalWindow', 'DuplicateCertificateLimit', 'HeldPastEmergency'], renewAt: at(85.5) });
    expect(held.reasons.at(-1)).toBe(
      'held past its emergency point (2027-01-25T12:00:00.000Z, 1/20 of its lifetime before expiry): failing; certkeeper orders anyway at that point',
    );
    // A hold that ends before the emergency point is an ordinary wait.
    expect(decide(input(at(61), { rateLimits: [{ ...block, until: at(80) }] }))).toMatchObject({ checks: ['InRenewalWindow', 'DuplicateCertificateLimit'], renewAt: at(80) });
  });

  it("at the emergency point certkeeper's guards and an earlier CA refusal yield: the order is tried, the CA decides", () => {
    const caEarlier = { check: Check.CaRateLimited, kind: 'ca' as const, until: at(89), since: at(61), reason: 'the CA said rateLimited' };
    const decision = decide(input(at(85.5), { rateLimits: [{ ...block, until: at(89) }, caEarlier] }));
    expect(decision).toMatchObject({ action: 'renew', checks: ['Emergency', 'InRenewalWindow', 'DuplicateCertificateLimit', 'CaRateLimited', 'EmergencyOverride'] });
    expect(decision.reasons.at(-1)).toBe(
      'less than 1/20 of its lifetime left: ordering anyway despite DuplicateCertificateLimit, CaRateLimited (the CA decides; a refusal is recorded and honoured)',
    );
    // Also once expired.
    expect(decide(input(at(91), { rateLimits: [{ ...block, until: at(95) }] })).action).toBe('renew');
  });

  it('honours a CA refusal of the emergency order itself, reported as failing', () => {
    const refusedInEmergency = { check: Check.CaRateLimited, kind: 'ca' as const, until: at(87), since: at(85.6), reason: 'the CA said rateLimited' };
    const decision = decide(input(at(85.7), { rateLimits: [{ ...block, until: at(89) }, refusedInEmergency] }));
    expect(decision).toMatchObject({ action: 'none', renewAt: at(87) });
    expect(decision.checks).toEqual(['Emergency', 'InRenewalWindow', 'CaRateLimited', 'HeldPastEmergency']);
  });

  it('a clock problem holds (a new order would get the same answer) unless forced, and is not overridden at the emergency point', () => {
    const clock = { check: Check.ClockSkew, kind: 'clock' as const, until: at(91.04), reason: 'clock problem: …' };
    expect(decide(input(at(91), { rateLimits: [clock] }))).toMatchObject({ action: 'none', checks: ['Expired', 'InRenewalWindow', 'ClockSkew', 'HeldPastEmergency'] });
    expect(decide(input(at(91), { rateLimits: [clock], ignoreRateLimits: true })).action).toBe('none');
    expect(decide(input(at(91), { rateLimits: [clock], force: true })).action).toBe('renew');
  });
});

describe('renewal decision: properties', () => {
  it('for any lifetime, renewal is planned before expiry with at least the backstop margin, never past the emergency point', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 60 * 60, max: 400 * 86_400 }), // lifetime in seconds: an hour to 400 days
        fc.option(fc.oneof(fc.record({ days: fc.integer({ min: 1, max: 500 }) }), fc.record({ percent: fc.integer({ min: 1, max: 99 }) })), { nil: undefined }),
        (lifetimeSeconds, renewBefore) => {
          const f = facts(lifetimeSeconds / 86_400);
          const lifetime = f.notAfter.getTime() - f.notBefore.getTime();
          const plan = plannedRenewal(f, f.notBefore, { renewBefore });
          const margin = lifetime < 10 * DAY ? lifetime / 2 : lifetime / 3;
          expect(f.notAfter.getTime() - plan.renewAt.getTime()).toBeGreaterThanOrEqual(Math.floor(margin) - 1);
          expect(plan.renewAt.getTime()).toBeLessThanOrEqual(emergencyPoint(f).getTime());
          expect(plan.renewAt.getTime()).toBeGreaterThanOrEqual(f.notBefore.getTime() - 1);
        },
      ),
    );
  });

  it('for any ARI window, the plan is inside it or at the emergency point, and a passing clock renews by then', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 6, max: 90 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.99, noNaN: true }),
        (days, a, b, r) => {
          const f = facts(days);
          const span = f.notAfter.getTime() - f.notBefore.getTime();
          const [lo, hi] = [Math.min(a, b), Math.max(a, b)];
          const w = { start: new Date(f.notBefore.getTime() + lo * span), end: new Date(f.notBefore.getTime() + hi * span) };
          const ari = { ...w, chosenAt: pickMomentIn(w, () => r) };
          const plan = plannedRenewal(f, f.notBefore, { ari });
          expect(plan.renewAt.getTime()).toBeLessThanOrEqual(Math.min(w.end.getTime(), emergencyPoint(f).getTime()));
          expect(decide({ desired, observed: deployed(f), now: plan.renewAt, ari }).action).toBe('renew');
        },
      ),
    );
  });
});

describe('renewal decision: failing with nothing to do now (decision.failing)', () => {
  const served = (serial?: string, error?: string) => ({ endpoint: 'www.example.com:443', ...(serial && { serial }), ...(error && { error }) });

  it('an endpoint serving another certificate: up to date but failing NotServed; the contract checks stay UpToDate', () => {
    const decision = decideFindings(input(at(1), { served: [served('abc'), served('0ld')] }));
    expect(decision.action).toBe('none');
    expect(checksAndReasons(decision.findings).checks).toEqual([Check.UpToDate]);
    expect(decision.failing).toEqual({ check: Check.NotServed, message: 'deployed but not served: www.example.com:443 serves serial 0ld' });
  });

  it('an endpoint that cannot be probed is not served, with the probe error in the message', () => {
    const decision = decideFindings(input(at(1), { served: [served(undefined, 'connect ECONNREFUSED')] }));
    expect(decision.failing).toEqual({ check: Check.NotServed, message: 'deployed but not served: www.example.com:443 connect ECONNREFUSED' });
  });

  it('every endpoint serving the deployed certificate, or none probed, is healthy: no failing', () => {
    expect(decideFindings(input(at(1), { served: [served('abc')] })).failing).toBeUndefined();
    expect(decideFindings(input(at(1), { served: [] })).failing).toBeUndefined();
    expect(decideFindings(input(at(1))).failing).toBeUndefined();
  });

  it('not served is judged only when nothing is due: a due or drifted certificate is acted on instead', () => {
    expect(decideFindings(input(at(61), { served: [served('0ld')] }))).toMatchObject({ action: 'renew' });
    expect(decideFindings(input(at(61), { served: [served('0ld')] })).failing).toBeUndefined();
    const drifted = [{ ...deployed()[0]!, listeners: [{ arn: 'arn:l', mode: 'default' as const, carries: false }] }];
    expect(decideFindings(input(at(1), { observed: drifted, served: [served('0ld')] })).failing).toBeUndefined();
  });

  it('held past the emergency point is failing HeldPastEmergency, with every reason as its message', () => {
    const block = { check: Check.DuplicateCertificateLimit, kind: 'guard' as const, until: at(89), reason: 'duplicates used up' };
    const decision = decideFindings(input(at(61), { rateLimits: [block] }));
    expect(decision.action).toBe('none');
    expect(decision.failing?.check).toBe(Check.HeldPastEmergency);
    expect(decision.failing?.message).toBe(decision.findings.map((entry) => entry.message).join('; '));
    // An ordinary wait (ends before the emergency point) is not failing.
    expect(decideFindings(input(at(61), { rateLimits: [{ ...block, until: at(80) }] })).failing).toBeUndefined();
  });

  it('a clock problem is failing ClockSkew even before the emergency point; past it, HeldPastEmergency says so', () => {
    const clock = { check: Check.ClockSkew, kind: 'clock' as const, until: at(61.04), reason: 'clock problem: …' };
    const early = decideFindings(input(at(61), { rateLimits: [clock] }));
    expect(early).toMatchObject({ action: 'none', failing: { check: Check.ClockSkew, message: early.findings.map((entry) => entry.message).join('; ') } });
    expect(decideFindings(input(at(91), { rateLimits: [{ ...clock, until: at(91.04) }] })).failing?.check).toBe(Check.HeldPastEmergency);
    // Forced: the clock guard does not apply, nothing is failing.
    expect(decideFindings(input(at(61), { rateLimits: [clock], force: true })).failing).toBeUndefined();
  });

  it('backoff alone is an ordinary wait, not failing', () => {
    const history = { consecutiveFailures: 2, lastFailureAt: at(61) };
    const decision = decideFindings(input(at(61), { history }));
    expect(decision).toMatchObject({ action: 'none' });
    expect(decision.failing).toBeUndefined();
  });
});
