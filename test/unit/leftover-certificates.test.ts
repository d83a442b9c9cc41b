import { describe, expect, it } from 'vitest';
import { decide, type ObservedRegion } from '../../src/policy/decide.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';

/** Found by the reliability suite (crash after the ACM import): a certificate left over by an interrupted renewal is retired by a redeploy. */
const DAY = 86_400_000;
const issuedAt = new Date('2026-11-01T00:00:00Z');
const facts: CertificateFacts = {
  serial: 'abc',
  notBefore: issuedAt,
  notAfter: new Date(issuedAt.getTime() + 90 * DAY),
  domains: ['www.example.com'],
  keyType: 'ecdsa-p256',
  issuer: 'CN=test',
  usages: { keyUsages: ['digitalSignature'], extendedKeyUsages: ['serverAuth'] },
};
const desired = { domains: ['www.example.com'], keyType: 'ecdsa-p256' as const, regions: ['us-east-1'] };
const now = new Date(issuedAt.getTime() + 10 * DAY);
const region = (more: Partial<ObservedRegion>): ObservedRegion[] => [
  { region: 'us-east-1', certificateArn: 'arn:new', facts, listeners: [{ arn: 'arn:listener', mode: 'default', carries: true }], ...more },
];

describe('leftover certificates', () => {
  it('a leftover makes an up-to-date certificate a redeploy, with the ARN in the reason', () => {
    const decision = decide({ desired, observed: region({ leftovers: ['arn:old'] }), now });
    expect(decision).toMatchObject({ action: 'redeploy', checks: ['LeftoverCertificate'] });
    expect(decision.reasons).toEqual(['arn:old in us-east-1 is left over from an interrupted renewal (deployed: arn:new): retire it']);
  });

  it('drift and leftovers are both reasons of one redeploy', () => {
    const decision = decide({ desired, observed: region({ leftovers: ['arn:old'], listeners: [{ arn: 'arn:listener', mode: 'default', carries: false }] }), now });
    expect(decision.checks).toEqual(['ListenerDrift', 'LeftoverCertificate']);
  });

  it('no leftovers: nothing to do', () => {
    expect(decide({ desired, observed: region({ leftovers: [] }), now })).toMatchObject({ action: 'none', checks: ['UpToDate'] });
  });

  it('a due renewal comes first (it retires leftovers itself)', () => {
    const decision = decide({ desired, observed: region({ leftovers: ['arn:old'] }), now: new Date(issuedAt.getTime() + 89 * DAY) });
    expect(decision.action).toBe('renew');
  });
});
