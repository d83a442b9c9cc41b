import { describe, expect, it } from 'vitest';
import type { CertificateSpec } from '../../src/config/schema.js';
import type { CertificateFacts } from '../../src/pki/certificate.js';
import type { IssuedCertificate } from '../../src/pki/issued-certificate.js';
import type { Observation } from '../../src/ports/deployer.js';
import { AcmDeployerPass } from '../../src/targets/acm-deployer.js';
import type { AcmRegion } from '../../src/targets/acm.js';
import type { Place } from '../../src/targets/places.js';
import { recordingLogger } from '../store/recording-logger.js';

/** The ACM deployer's order of work, with ACM and the places faked: what is imported, moved, kept and retired. */
const facts = (serial: string, keyType: CertificateFacts['keyType'] = 'ecdsa-p256'): CertificateFacts => ({
  serial,
  notBefore: new Date('2026-11-01T00:00:00Z'),
  notAfter: new Date('2027-01-30T00:00:00Z'),
  domains: ['www.example.com'],
  keyType,
  issuer: 'CN=test',
  usages: { keyUsages: ['digitalSignature'], extendedKeyUsages: ['serverAuth'] },
});
const issued = (keyType: CertificateFacts['keyType']): IssuedCertificate => ({
  leafPem: 'LEAF',
  chainPem: 'CHAIN',
  privateKeyPem: 'KEY',
  facts: facts('new', keyType),
  orderUrl: 'https://ca/order/1',
});
const spec = { name: 'web', keyType: 'ecdsa-p256', acm: [{ region: 'us-east-1', listeners: [] }], cloudfront: [] } as unknown as CertificateSpec;
const DISTRIBUTION_USER = 'arn:aws:cloudfront::123456789012:distribution/E1';

function world(options: { failBind?: string; carrying?: string[] } = {}) {
  const steps: string[] = [];
  const retired: { arn: string; ours: (user: string) => boolean }[] = [];
  const acm = {
    region: 'us-east-1',
    import: (_issued: IssuedCertificate, _name: string, into: string | undefined) => {
      steps.push(`import ${into ?? '(new)'}`);
      return Promise.resolve(into ?? 'arn:new');
    },
    retire: (arn: string, ours: (user: string) => boolean) => Promise.resolve(void retired.push({ arn, ours })),
  } as unknown as AcmRegion;
  const place = (kind: string, id: string, user: string): Place => ({
    kind,
    id,
    ...(kind === 'listener' && { mode: 'default' as const }),
    carries: () => Promise.resolve((options.carrying ?? []).includes(id)),
    bind: (arn) => {
      if (options.failBind === id) return Promise.reject(new Error(`${id} refused`));
      steps.push(`bind ${id} ${arn}`);
      return Promise.resolve();
    },
    claims: (candidate) => (candidate === user ? 'own' : undefined),
    preflight: () => Promise.resolve({ check: kind, ok: true, detail: id }),
  });
  const places = [place('listener', 'arn:listener', 'arn:listener'), place('CloudFront distribution', 'E1', DISTRIBUTION_USER)];
  const deployer = new AcmDeployerPass(() => acm, [() => places]);
  return { steps, retired, deployer, places };
}

const observed = (more: Partial<Observation['regions'][number]> = {}): Observation => ({
  regions: [{ region: 'us-east-1', certificateArn: 'arn:old', facts: facts('old'), foundBy: 'tags', alsoTagged: [], ...more }],
});

const hooks = (steps: string[]) => ({
  log: recordingLogger(),
  signal: new AbortController().signal,
  onStep: () => undefined,
  onImported: (region: string, arn: string) => Promise.resolve(void steps.push(`recorded ${region} ${arn}`)),
});

describe('the ACM deployer', () => {
  it('re-imports into the deployed ARN, records it, and moves no certificate out: nothing to retire', async () => {
    const { steps, deployer } = world();
    const deployed = await deployer.deploy(spec, issued('ecdsa-p256'), observed(), hooks(steps));
    expect(steps).toEqual(['import arn:old', 'recorded us-east-1 arn:old', 'bind arn:listener arn:old', 'bind E1 arn:old']);
    expect(deployed.deployments).toEqual([{ region: 'us-east-1', certificateArn: 'arn:old' }]);
    expect(deployed.retirement.pending).toEqual([]);
  });

  it('a key type ACM cannot re-import: a new ARN, recorded before any place moves, the old one retired only when asked, with both places counted as ours', async () => {
    const { steps, retired, deployer } = world();
    const log = recordingLogger();
    const deployed = await deployer.deploy(spec, issued('ecdsa-p384'), observed(), { ...hooks(steps), log });
    expect(steps).toEqual(['import (new)', 'recorded us-east-1 arn:new', 'bind arn:listener arn:new', 'bind E1 arn:new']);
    expect(log.events.map((event) => event.event)).toEqual(['acm.reimport_incompatible']);
    expect(deployed.retirement.pending).toEqual(['arn:old']);
    expect(retired).toEqual([]);
    await deployed.retirement.retire(log);
    expect(retired.map((entry) => entry.arn)).toEqual(['arn:old']);
    expect(retired[0]!.ours(DISTRIBUTION_USER)).toBe(true);
    expect(retired[0]!.ours('arn:listener')).toBe(true);
    expect(retired[0]!.ours('arn:aws:cloudfront::123456789012:distribution/EOTHER')).toBe(false);
  });

  it('not served: `keep` says so for every old certificate and deletes nothing', async () => {
    const { steps, retired, deployer } = world();
    const log = recordingLogger();
    const deployed = await deployer.deploy(spec, issued('ecdsa-p384'), observed({ alsoTagged: ['arn:older'] }), hooks(steps));
    deployed.retirement.keep('the new certificate is not served yet', log);
    expect(log.events).toMatchObject([
      { event: 'acm.previous_kept', certificateArn: 'arn:old', why: 'the new certificate is not served yet' },
      { event: 'acm.previous_kept', certificateArn: 'arn:older' },
    ]);
    expect(retired).toEqual([]);
  });

  it('a place that refuses stops the deployment with the error: nothing comes back to retire', async () => {
    const { steps, deployer } = world({ failBind: 'E1' });
    await expect(deployer.deploy(spec, issued('ecdsa-p384'), observed(), hooks(steps))).rejects.toThrow('E1 refused');
    expect(steps).toEqual(['import (new)', 'recorded us-east-1 arn:new', 'bind arn:listener arn:new']);
  });

  it('a configured certificateArn is re-imported even when the key type changes, and its certificate is never retired', async () => {
    const { steps, deployer } = world();
    const configured = { ...spec, acm: [{ region: 'us-east-1', certificateArn: 'arn:configured', listeners: [] }] } as unknown as CertificateSpec;
    const deployed = await deployer.deploy(configured, issued('ecdsa-p384'), observed({ certificateArn: 'arn:configured', foundBy: 'config' }), hooks(steps));
    expect(steps[0]).toBe('import arn:configured');
    expect(deployed.retirement.pending).toEqual([]);
  });

  it('a redeploy binds only the places that no longer use the deployed certificate, and hands back the leftovers', async () => {
    const { steps, deployer } = world();
    const observation = observed({
      certificateArn: 'arn:current',
      listeners: [{ arn: 'arn:listener', mode: 'default', carries: true }],
      attachments: [{ kind: 'CloudFront distribution', id: 'E1', carries: false }],
      leftovers: ['arn:left'],
    });
    const deployed = await deployer.redeploy(spec, observation, recordingLogger());
    expect(steps).toEqual(['bind E1 arn:current']);
    expect(deployed.retirement.pending).toEqual(['arn:left']);
  });

  it('observes the distribution among `attachments` and the listener among `listeners`', async () => {
    const { places } = world({ carrying: ['arn:listener'] });
    const acm = { get: (arn: string) => Promise.resolve({ certificateArn: arn, facts: facts('old') }), findByName: () => Promise.resolve(['arn:old']) } as unknown as AcmRegion;
    const observation = await new AcmDeployerPass(() => acm, [() => places]).observe(spec, undefined);
    expect(observation.regions[0]).toMatchObject({
      certificateArn: 'arn:old',
      foundBy: 'tags',
      listeners: [{ arn: 'arn:listener', mode: 'default', carries: true }],
      attachments: [{ kind: 'CloudFront distribution', id: 'E1', carries: false }],
    });
  });
});
