import { describe, expect, it } from 'vitest';
import { decide, renewalPoint, type ObservedRegion } from '../../src/policy/decide.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';

const DAY = 86_400_000;
const issuedAt = new Date('2026-11-01T00:00:00Z');

function facts(overrides: Partial<CertificateFacts> = {}): CertificateFacts {
  return {
    serial: 'abc',
    notBefore: issuedAt,
    notAfter: new Date(issuedAt.getTime() + 90 * DAY),
    domains: ['api.example.com', 'www.example.com'],
    keyType: 'ecdsa-p256',
    issuer: 'CN=test',
    ...overrides,
  };
}

const desired = { domains: ['www.example.com', 'api.example.com'], keyType: 'ecdsa-p256' as const, regions: ['us-east-1'] };
const deployed = (f: CertificateFacts = facts()): ObservedRegion[] => [{ region: 'us-east-1', certificateArn: 'arn:x', facts: f }];
const at = (days: number) => new Date(issuedAt.getTime() + days * DAY);

describe('renewal decision', () => {
  it('leaves a fresh certificate alone and says until when', () => {
    const decision = decide({ desired, observed: deployed(), now: at(10) });
    expect(decision.action).toBe('none');
    expect(decision.reasons).toEqual([
      'valid until 2027-01-30T00:00:00.000Z (80 days left of 90 days); renewal due from 2026-12-31T00:00:00.000Z (one third of its lifetime left)',
    ]);
  });

  it('renews when one third of the lifetime is left (day 60 of 90)', () => {
    expect(decide({ desired, observed: deployed(), now: at(59.9) }).action).toBe('none');
    const decision = decide({ desired, observed: deployed(), now: at(60) });
    expect(decision.action).toBe('renew');
    expect(decision.checks).toEqual(['InRenewalWindow']);
    expect(decision.reasons[0]).toContain('less than one third of its lifetime left');
  });

  it('uses half the lifetime for certificates shorter than 10 days', () => {
    const short = facts({ notAfter: new Date(issuedAt.getTime() + 6 * DAY) });
    expect(renewalPoint(short)).toEqual(at(3));
    expect(decide({ desired, observed: deployed(short), now: at(2.9) }).action).toBe('none');
    expect(decide({ desired, observed: deployed(short), now: at(3) }).reasons[0]).toContain('less than half of its lifetime left');
  });

  it('keeps working as lifetimes shrink: 45-day certificates renew at day 30', () => {
    const f45 = facts({ notAfter: new Date(issuedAt.getTime() + 45 * DAY) });
    expect(renewalPoint(f45)).toEqual(at(30));
  });

  it('renews what is not deployed, naming the region', () => {
    const decision = decide({ desired: { ...desired, regions: ['us-east-1', 'eu-west-1'] }, observed: deployed(), now: at(1) });
    expect(decision).toMatchObject({ action: 'renew', checks: ['NotDeployed'], reasons: ['no certificate deployed in ACM in eu-west-1'] });
  });

  it('renews when a configured ARN does not exist', () => {
    const decision = decide({ desired, observed: [{ region: 'us-east-1', certificateArn: 'arn:gone' }], now: at(1) });
    expect(decision.reasons).toEqual(['configured certificate arn:gone in us-east-1 does not exist']);
  });

  it('renews when the domains or the key type differ from the spec', () => {
    const decision = decide({
      desired: { ...desired, domains: ['api.example.com'], keyType: 'rsa-2048' },
      observed: deployed(),
      now: at(1),
    });
    expect(decision.checks).toEqual(['DomainsDiffer', 'KeyTypeDiffers']);
    expect(decision.reasons).toEqual([
      'domains differ in us-east-1: deployed api.example.com, www.example.com; configured api.example.com',
      'key type differs in us-east-1: deployed ecdsa-p256; configured rsa-2048',
    ]);
  });

  it('renews an expired certificate and says when it expired', () => {
    const decision = decide({ desired, observed: deployed(), now: at(91) });
    expect(decision).toMatchObject({ action: 'renew', checks: ['Expired'], reasons: ['expired in us-east-1 on 2027-01-30T00:00:00.000Z'] });
  });

  it('renews when regions hold different certificates', () => {
    const observed = [...deployed(), { region: 'eu-west-1', certificateArn: 'arn:y', facts: facts({ serial: 'def' }) }];
    const decision = decide({ desired: { ...desired, regions: ['us-east-1', 'eu-west-1'] }, observed, now: at(1) });
    expect(decision.checks).toEqual(['RegionsOutOfStep']);
  });

  it('renews on --force whatever the expiry', () => {
    expect(decide({ desired, observed: deployed(), now: at(1), force: true })).toMatchObject({
      action: 'renew',
      reasons: ['renewal forced (--force)'],
    });
  });
});
