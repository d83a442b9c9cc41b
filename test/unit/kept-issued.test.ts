import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeKept, keptToDeploy } from '../../src/agent/kept-issued.js';
import type { IssuedCertificate } from '../../src/pki/issued-certificate.js';
import { readCertificate } from '../../src/pki/certificate.js';
import { Check, checksAndReasons } from '../../src/policy/checks.js';
import { decide as decideFindings, type DecisionInput, type ObservedRegion } from '../../src/policy/decide.js';
import { IssuedCertificates, type KeptIssued } from '../../src/store/issued-certificates.js';
import { selfSignedCertificate } from '../stack/tls.js';
import { recordingLogger } from '../store/recording-logger.js';

/** The decision as the contracts show it (`renewal.decided`, `status --json`): its findings as `checks` and `reasons`. */
function decide(input: DecisionInput) {
  const decision = decideFindings(input);
  return { ...decision, ...checksAndReasons(decision.findings) };
}

/** What to do with a kept issued certificate: deploy it, it is deployed already, or delete it (and why). */

const DIRECTORY = 'https://ca.test/dir';
const DAY = 86_400_000;
const spec = {
  name: 'web',
  domains: ['www.example.com', 'api.example.com'],
  keyType: 'ecdsa-p256' as const,
  acm: [
    { region: 'us-east-1', listeners: [] },
    { region: 'eu-west-1', listeners: [] },
  ],
};
const root = mkdtempSync(join(tmpdir(), 'certkeeper-kept-'));
let kept: KeptIssued;
let older: IssuedCertificate;

async function issuedFor(domains: string[], notAfter: Date): Promise<IssuedCertificate> {
  const { certificatePem, privateKeyPem } = await selfSignedCertificate(domains[0]!, domains, { notAfter });
  return { leafPem: certificatePem, chainPem: '', privateKeyPem, facts: readCertificate(certificatePem), orderUrl: 'https://ca.test/order/1' };
}

const region = (name: string, issued?: IssuedCertificate): ObservedRegion => ({ region: name, certificateArn: `arn:${name}`, ...(issued && { facts: issued.facts }) });

beforeAll(async () => {
  kept = { issued: await issuedFor(spec.domains, new Date(Date.now() + 60 * DAY)), directoryUrl: DIRECTORY, keptAt: new Date().toISOString() };
  older = await issuedFor(spec.domains, new Date(Date.now() + 5 * DAY));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('judgeKept', () => {
  const now = new Date();
  it('deploys a valid, fitting certificate newer than what is deployed (or not yet in every region)', () => {
    expect(judgeKept(spec, kept, [region('us-east-1', older), region('eu-west-1', older)], DIRECTORY, now)).toEqual({ verdict: 'deploy' });
    expect(judgeKept(spec, kept, [region('us-east-1', kept.issued), region('eu-west-1', older)], DIRECTORY, now)).toEqual({ verdict: 'deploy' });
    expect(judgeKept(spec, kept, [region('us-east-1'), region('eu-west-1')], DIRECTORY, now)).toEqual({ verdict: 'deploy' });
  });

  it('says deployed once every configured region holds it', () => {
    expect(judgeKept(spec, kept, [region('us-east-1', kept.issued), region('eu-west-1', kept.issued)], DIRECTORY, now)).toEqual({ verdict: 'deployed' });
  });

  it('refuses it, saying why: expired, other names, other key type, another CA, a newer one deployed', () => {
    const why = (verdict: ReturnType<typeof judgeKept>) => (verdict.verdict === 'unusable' ? verdict.why : verdict.verdict);
    expect(why(judgeKept(spec, kept, [], DIRECTORY, new Date(Date.now() + 61 * DAY)))).toMatch(/^expired on /);
    expect(why(judgeKept({ ...spec, domains: ['www.example.com'] }, kept, [], DIRECTORY, now))).toBe(
      'its names (api.example.com, www.example.com) are not the configured ones (www.example.com)',
    );
    expect(why(judgeKept({ ...spec, keyType: 'ecdsa-p384' }, kept, [], DIRECTORY, now))).toBe('its key type ecdsa-p256 is not the configured ecdsa-p384');
    expect(why(judgeKept(spec, kept, [], 'https://other.test/dir', now))).toMatch(/^issued by another CA \(https:\/\/ca\.test\/dir\)/);
    expect(why(judgeKept(spec, { ...kept, issued: { ...kept.issued, privateKeyPem: older.privateKeyPem } }, [], DIRECTORY, now))).toBe(
      'its private key does not match the certificate',
    );
    expect(why(judgeKept(spec, { ...kept, issued: older }, [region('us-east-1', kept.issued), region('eu-west-1', kept.issued)], DIRECTORY, now))).toMatch(/as long or longer$/);
  });
});

describe('the kept file', () => {
  it('is 0600 in a 0700 directory; an unusable one is deleted with its reason only when the renewal asks', async () => {
    const dir = join(root, 'state');
    const issued = new IssuedCertificates(dir);
    await issued.keep('web', kept.issued, { directoryUrl: DIRECTORY, runId: 'run-1' });
    expect(statSync(join(dir, 'issued', 'web.json')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'issued')).mode & 0o777).toBe(0o700);
    expect((await issued.read('web'))?.issued.facts.serial).toBe(kept.issued.facts.serial);

    const log = recordingLogger();
    const narrower = { ...spec, domains: ['www.example.com'] } as never;
    // A look (status, the first look of a pass) keeps it: only the renewal, under the lease, deletes it.
    expect(await keptToDeploy(narrower, [], issued, DIRECTORY, log, { discardUnusable: false })).toBeUndefined();
    expect(readdirSync(join(dir, 'issued'))).toEqual(['web.json']);
    expect(await keptToDeploy(narrower, [], issued, DIRECTORY, log, { discardUnusable: true })).toBeUndefined();
    expect(readdirSync(join(dir, 'issued'))).toEqual([]);
    expect(log.events).toEqual([
      {
        level: 'info',
        event: 'renewal.issued_discarded',
        serial: kept.issued.facts.serial,
        notAfter: kept.issued.facts.notAfter.toISOString(),
        keptAt: expect.any(String),
        why: expect.stringContaining('are not the configured ones'),
      },
    ]);
    expect(JSON.stringify(log.events)).not.toContain('PRIVATE KEY');
  });

  it('is deleted at any look once it is in ACM in every region', async () => {
    const dir = join(root, 'deployed');
    const issued = new IssuedCertificates(dir);
    await issued.keep('web', kept.issued, { directoryUrl: DIRECTORY, runId: 'run-1' });
    const log = recordingLogger();
    expect(
      await keptToDeploy(spec as never, [region('us-east-1', kept.issued), region('eu-west-1', kept.issued)], issued, DIRECTORY, log, { discardUnusable: false }),
    ).toBeUndefined();
    expect(readdirSync(join(dir, 'issued'))).toEqual([]);
    expect(log.events[0]).toMatchObject({ event: 'renewal.issued_discarded', why: 'it is in ACM in every configured region (ACM holds its key)' });
  });
});

describe('decide with a kept certificate', () => {
  const desired = { domains: spec.domains, keyType: spec.keyType, regions: ['us-east-1'] };
  it('renews (to deploy it) even when the deployed one is not due, and no rate-limit guard holds it (no order)', () => {
    const now = new Date();
    const observed = [region('us-east-1', kept.issued)];
    const guard = { check: Check.DuplicateCertificateLimit, kind: 'guard' as const, until: new Date(Date.now() + DAY), reason: 'five duplicates this week' };
    expect(decide({ desired, observed, now, rateLimits: [guard] }).action).toBe('none');
    const decision = decide({ desired, observed, now, rateLimits: [guard], issued: { serial: 'ab', notAfter: new Date(Date.now() + 60 * DAY) } });
    expect(decision).toMatchObject({ action: 'renew', checks: ['IssuedNotDeployed'] });
    expect(decision.reasons[0]).toMatch(/^certificate ab \(valid until .*\) was issued by an interrupted run and is not deployed everywhere yet: deploying it, no new order$/);
  });
});
