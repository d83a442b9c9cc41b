import { describe, expect, it } from 'vitest';
import { checksAndReasons } from '../../src/policy/checks.js';
import { decide as decideFindings, type DecisionInput, type ObservedRegion } from '../../src/policy/decide.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';
import type { CertificateSpec } from '../../src/config/schema.js';
import { AcmDeployerPass } from '../../src/targets/acm-deployer.js';
import type { AcmRegion } from '../../src/targets/acm.js';
import type { Place } from '../../src/targets/places.js';

/** The decision as the contracts show it (`renewal.decided`, `status --json`): its findings as `checks` and `reasons`. */
function decide(input: DecisionInput) {
  const decision = decideFindings(input);
  return { ...decision, ...checksAndReasons(decision.findings) };
}

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

describe("which extra certificates of a name are left over (the ACM deployer's observe)", () => {
  const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
  const LOAD_BALANCER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188';
  const spec = { name: 'web', acm: [{ region: 'us-east-1', listeners: [{ arn: LISTENER, mode: 'default' as const }] }] } as unknown as CertificateSpec;
  const older = { ...facts, serial: 'old', notAfter: new Date(issuedAt.getTime() + 30 * DAY) };

  async function leftoversWhen(inUseBy: string[], carried: string[]): Promise<string[] | undefined> {
    // As ACM and ELBv2 answer: 'arn:new' deployed, 'arn:old' also tagged with this name.
    const acm = {
      get: async (arn: string) => ({ certificateArn: arn, facts: arn === 'arn:new' ? facts : older }),
      findByName: async () => ['arn:new', 'arn:old'],
      inUseBy: async () => inUseBy,
    } as unknown as AcmRegion;
    // The listener as the ELBv2 place kind presents it.
    const listener = {
      kind: 'listener',
      id: LISTENER,
      mode: 'default',
      carries: async (arn: string) => carried.includes(arn),
      claims: (user: string) => (user === LISTENER ? 'own' : user === LOAD_BALANCER ? 'shared' : undefined),
    } as unknown as Place;
    const observation = await new AcmDeployerPass(() => acm, [() => [listener]]).observe(spec, undefined);
    return observation.regions[0]!.leftovers;
  }

  it('one nobody uses, or that only our listener carries, is left over', async () => {
    expect(await leftoversWhen([], ['arn:new'])).toEqual(['arn:old']);
    expect(await leftoversWhen([LOAD_BALANCER], ['arn:new', 'arn:old'])).toEqual(['arn:old']);
    expect(await leftoversWhen([LISTENER], ['arn:new'])).toEqual(['arn:old']);
  });

  it('one in use on our load balancer but not by our listener (another listener there) stays', async () => {
    expect(await leftoversWhen([LOAD_BALANCER], ['arn:new'])).toEqual([]);
    expect(await leftoversWhen(['arn:aws:cloudfront::123456789012:distribution/E1'], ['arn:new'])).toEqual([]);
  });
});
