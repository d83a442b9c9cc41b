import { describe, expect, it } from 'vitest';
import { evaluate, type Situation } from '../../src/policy/chain.js';
import { Check, checksAndReasons, found } from '../../src/policy/checks.js';
import type { ObservedRegion } from '../../src/policy/decision-input.js';
import { drift } from '../../src/policy/drift.js';
import { guards } from '../../src/policy/guards.js';
import { readiness, servesDeployed } from '../../src/policy/readiness.js';
import { emergencyPoint, plannedRenewal } from '../../src/policy/renewal-time.js';
import { triggers } from '../../src/policy/triggers.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';

/** Each named chain of the decision on its own: what its checks find, in what order, with what weight. */

const DAY = 86_400_000;
const issuedAt = new Date('2026-11-01T00:00:00Z');
const at = (days: number) => new Date(issuedAt.getTime() + days * DAY);
const facts: CertificateFacts = {
  serial: 'abc',
  notBefore: issuedAt,
  notAfter: at(90),
  domains: ['www.example.com'],
  keyType: 'ecdsa-p256',
  issuer: 'CN=test',
  usages: { keyUsages: ['digitalSignature'], extendedKeyUsages: ['serverAuth'] },
};
const region: ObservedRegion = { region: 'us-east-1', certificateArn: 'arn:cert', facts };

/** A situation as decide() builds it, for a certificate deployed at `issuedAt` and looked at on day `day`. */
function situation(day: number, more: Partial<Situation> = {}): Situation {
  const now = at(day);
  return {
    desired: { domains: ['www.example.com'], keyType: 'ecdsa-p256', regions: ['us-east-1'] },
    observed: [region],
    now,
    soonest: facts,
    plan: plannedRenewal(facts, now, {}),
    validity: { notBefore: facts.notBefore, notAfter: facts.notAfter, emergencyAt: emergencyPoint(facts) },
    ...more,
  };
}

describe('the check names', () => {
  it('are their own values, so a constant is the very name the contracts show', () => {
    for (const [key, value] of Object.entries(Check)) expect(value).toBe(key);
  });

  it('findings become the contract: parallel checks and reasons, in order', () => {
    const findings = [
      { check: Check.InRenewalWindow, message: 'due' },
      { check: Check.Backoff, message: 'waiting' },
    ];
    expect(checksAndReasons(findings)).toEqual({ checks: ['InRenewalWindow', 'Backoff'], reasons: ['due', 'waiting'] });
    expect(found(findings, Check.Backoff)).toBe(true);
    expect(found(findings, Check.UpToDate, Check.Expired)).toBe(false);
  });
});

describe('the triggers chain', () => {
  it('finds nothing for a certificate that is deployed as configured and not due', () => {
    expect(evaluate(triggers, situation(1))).toEqual([]);
  });

  it('marks the triggers that mean "no working certificate soon" urgent', () => {
    const expired = evaluate(triggers, situation(91));
    expect(expired.map((result) => [result.check, result.urgent ?? false])).toEqual([
      [Check.Expired, true],
      [Check.InRenewalWindow, false],
    ]);
    const nothing = evaluate(triggers, situation(1, { observed: [], soonest: undefined, plan: undefined, validity: undefined }));
    expect(nothing).toEqual([{ check: Check.NotDeployed, urgent: true, message: 'no certificate deployed in ACM in us-east-1' }]);
  });

  it('reads in order, the most fundamental first', () => {
    const found = evaluate(triggers, situation(86, { force: true, desired: { domains: ['api.example.com'], keyType: 'rsa-2048', regions: ['us-east-1'] } }));
    expect(found.map((result) => result.check)).toEqual([Check.Forced, Check.DomainsDiffer, Check.KeyTypeDiffers, Check.Emergency, Check.InRenewalWindow]);
  });
});

describe('the guards chain', () => {
  const block = (check: typeof Check.NewOrderLimit | typeof Check.CaRateLimited | typeof Check.ClockSkew, kind: 'guard' | 'ca' | 'clock', until: Date) => ({
    check,
    kind,
    until,
    reason: `${check} until ${until.toISOString()}`,
  });

  it('backoff holds until its time, not when forced nor past the emergency point, nor for a failure dated in the future', () => {
    const history = { consecutiveFailures: 1, lastFailureAt: at(61) };
    const [held] = evaluate(guards, situation(61, { history }));
    expect(held).toMatchObject({ check: Check.Backoff, hold: { kind: 'guard' } });
    expect(held!.hold!.until.getTime()).toBeGreaterThan(at(61).getTime());
    expect(evaluate(guards, situation(61, { history, force: true }))).toEqual([]);
    expect(evaluate(guards, situation(86, { history: { consecutiveFailures: 1, lastFailureAt: at(86) } }))).toEqual([]);
    expect(evaluate(guards, situation(61, { history: { consecutiveFailures: 1, lastFailureAt: at(70) } }))).toEqual([]);
  });

  it('rate limits hold unless ignored or deploying a kept certificate; the clock holds unless forced; past blocks do not', () => {
    const rateLimits = [block(Check.NewOrderLimit, 'guard', at(62)), block(Check.CaRateLimited, 'ca', at(63)), block(Check.ClockSkew, 'clock', at(64))];
    expect(evaluate(guards, situation(61, { rateLimits })).map((result) => [result.check, result.hold?.kind])).toEqual([
      [Check.NewOrderLimit, 'guard'],
      [Check.CaRateLimited, 'ca'],
      [Check.ClockSkew, 'clock'],
    ]);
    expect(evaluate(guards, situation(61, { rateLimits, ignoreRateLimits: true })).map((result) => result.check)).toEqual([Check.ClockSkew]);
    expect(evaluate(guards, situation(61, { rateLimits, issued: { serial: 'ab', notAfter: at(150) } })).map((result) => result.check)).toEqual([Check.ClockSkew]);
    expect(evaluate(guards, situation(61, { rateLimits, force: true })).map((result) => result.check)).toEqual([Check.NewOrderLimit, Check.CaRateLimited]);
    expect(evaluate(guards, situation(65, { rateLimits }))).toEqual([]);
  });
});

describe('the drift chain', () => {
  it('finds listeners that do not serve the certificate (or cannot be read) and leftovers, nothing when all is in place', () => {
    const observed: ObservedRegion[] = [
      {
        ...region,
        listeners: [
          { arn: 'arn:l1', mode: 'default', carries: true },
          { arn: 'arn:l2', mode: 'sni', carries: false },
          { arn: 'arn:l3', mode: 'default', carries: false, error: 'AccessDenied' },
        ],
        leftovers: ['arn:old'],
      },
    ];
    expect(evaluate(drift, situation(1, { observed }))).toEqual([
      { check: Check.ListenerDrift, message: 'listener arn:l2 does not serve arn:cert as its SNI certificate: put it back' },
      { check: Check.ListenerDrift, message: 'listener arn:l3 cannot be read: AccessDenied' },
      { check: Check.LeftoverCertificate, message: 'arn:old in us-east-1 is left over from an interrupted renewal (deployed: arn:cert): retire it' },
    ]);
    expect(evaluate(drift, situation(1, { observed: [{ ...region, listeners: [{ arn: 'arn:l1', mode: 'default', carries: true }], leftovers: [] }] }))).toEqual([]);
  });
});

describe('the readiness chain', () => {
  it('says up to date, and when; not served is a failing finding naming each endpoint', () => {
    const results = evaluate(
      readiness,
      situation(1, {
        served: [
          { endpoint: 'a:443', serial: 'abc' },
          { endpoint: 'b:443', serial: 'zzz' },
          { endpoint: 'c:443', error: 'timeout' },
        ],
      }),
    );
    expect(results.map((result) => [result.check, result.failing ?? false])).toEqual([
      [Check.UpToDate, false],
      [Check.NotServed, true],
    ]);
    expect(results[0]!.message).toMatch(/^valid until 2027-01-30T00:00:00.000Z \(89 days left of 90 days\); .*; renewing at /);
    expect(results[1]!.message).toBe('deployed but not served: b:443 serves serial zzz; c:443 timeout');
  });

  it('an endpoint serves the deployed certificate only when its probe found exactly that serial', () => {
    expect(servesDeployed({ serial: 'abc' }, 'abc')).toBe(true);
    expect(servesDeployed({ serial: 'abc' }, undefined)).toBe(false);
    expect(servesDeployed({ error: 'refused' }, 'abc')).toBe(false);
  });
});
