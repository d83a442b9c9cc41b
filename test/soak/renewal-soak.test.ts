import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from '../e2e/config-file.js';
import { eventsNamed, watchCli, type AuditEvent } from '../e2e/cli.js';

/**
 * Time-compressed soak: Pebble issues 2-minute certificates, the CA suggests renewal windows (ARI)
 * through the test double, and `certkeeper run` with a 5-second schedule keeps three certificates on a
 * load balancer for several lifetimes. Proves: every certificate is replaced before it expires, none is
 * ordered more often than its window allows, and what the listeners point at is never expired.
 */

const LIFETIME_S = 120;
const SOAK_S = Number(process.env.CERTKEEPER_SOAK_SECONDS ?? 330);
let stack: Stack;
let aws: AwsFixtures;
let listener: HttpsListener;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ acmeProxy: true, pebble: { validitySeconds: LIFETIME_S } });
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('soak.example');
  listener = await aws.createHttpsListener({ name: 'alb-soak' });
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-soak-'));
});

afterAll(async () => {
  await stack?.stop();
});

interface Sample {
  at: number;
  certificateArn: string;
  notAfter: number;
}

/** Every second: what the listener points at (default and SNI), and whether it has expired. */
async function sampleListener(until: number, samples: Sample[]): Promise<void> {
  while (Date.now() < until) {
    const { defaultArn, sniArns } = await aws.describeListenerCertificates(listener.listenerArn);
    for (const arn of [defaultArn, ...sniArns]) {
      if (!arn || arn === listener.placeholderCertificateArn) continue;
      const described = await aws.describeAcm(arn);
      samples.push({ at: Date.now(), certificateArn: arn, notAfter: described.NotAfter!.getTime() });
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

describe(`soak: ${SOAK_S} s of ${LIFETIME_S}-second certificates`, () => {
  it('keeps every certificate valid, renews each once per window, and the listener never serves an expired one', async () => {
    const config = join(workDir, 'soak.config.mjs');
    const certificates = [
      { name: 'alpha', domains: ['alpha.soak.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] },
      { name: 'beta', domains: ['beta.soak.example', 'www.beta.soak.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn, mode: 'sni' }] }] },
      { name: 'gamma', domains: ['gamma.soak.example', '*.gamma.soak.example'], keyType: 'rsa-2048', acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn, mode: 'sni' }] }] },
    ];
    writeConfigFile(config, stack.directoryUrl, {
      stateDir: join(workDir, 'state'),
      schedule: { cron: '*/5 * * * * *', jitterSeconds: 0 },
      certificates,
    });

    const daemon = watchCli(['run', '--config', config], stack.env);
    const samples: Sample[] = [];
    await daemon.waitFor('renewal.succeeded', certificates.length);
    await sampleListener(Date.now() + SOAK_S * 1000, samples);
    daemon.child.kill('SIGTERM');
    const { code, events, stderr } = await daemon.done;
    expect(code, stderr.slice(-2000)).toBe(0);

    expect(eventsNamed(events, 'renewal.failed')).toEqual([]);
    const summary: string[] = [];
    for (const { name } of certificates) {
      const renewals = eventsNamed(events, 'renewal.succeeded', name).map((e: AuditEvent) => ({ at: Date.parse(e.time), notAfter: Date.parse(e.notAfter as string) }));
      const orders = eventsNamed(events, 'acme.order.created', name).map((e) => Date.parse(e.time));
      // Several lifetimes: the first issuance, then one renewal per window.
      expect(renewals.length, name).toBeGreaterThanOrEqual(Math.floor(SOAK_S / LIFETIME_S) + 1);
      expect(orders.length, name).toBe(renewals.length);
      for (let i = 1; i < renewals.length; i++) {
        const previous = renewals[i - 1]!;
        // Replaced before it expired, with at least the emergency margin (1/20 of the lifetime) to spare.
        expect(previous.notAfter - renewals[i]!.at, `${name} renewal ${i}`).toBeGreaterThan((LIFETIME_S / 20) * 1000);
        // Not more often than the CA's window: it opens after about half the lifetime.
        expect(renewals[i]!.at - previous.at, `${name} renewal ${i}`).toBeGreaterThan(LIFETIME_S * 0.5 * 1000);
      }
      const margins = renewals.slice(1).map((r, i) => Math.round((renewals[i]!.notAfter - r.at) / 1000));
      summary.push(`${name}: ${renewals.length} issuances, seconds left on the replaced certificate at each renewal: ${margins.join(', ')}`);
      // ARI renewals name the certificate they replace.
      const replaced = eventsNamed(events, 'acme.order.created', name).slice(1);
      expect(replaced.every((e) => typeof e.replaces === 'string'), name).toBe(true);
    }

    const tightest = Math.min(...samples.map((sample) => sample.notAfter - sample.at)) / 1000;
    console.log(`soak: ${samples.length} listener samples, least validity left on a served certificate ${tightest.toFixed(1)} s\n${summary.join('\n')}`);
    expect(samples.length).toBeGreaterThan(SOAK_S / 2);
    const expired = samples.filter((sample) => sample.notAfter <= sample.at);
    expect(expired).toEqual([]);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
