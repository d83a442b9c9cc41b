import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, exitWithin, runCli, watchCli } from './output-log.js';

/**
 * Races: a forced renewal while the daemon renews the same certificate, and SIGTERM in the middle of
 * a pass. The daemon is held at a step by the fault proxy, so the race happens at that step every time.
 * (Two agents on the shared store come with the DynamoDB store.)
 */

let rel: ReliabilityStack;
let listener: HttpsListener;

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('race.example');
  listener = await rel.aws.createHttpsListener({ name: 'alb-race' });
});

afterAll(async () => {
  await rel?.stop();
});

function config(name: string): string {
  return writeConfig(rel, `${name}.config.mjs`, {
    // Only the pass at start: the next scheduled one is a year away.
    schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
    certificates: [{ name, domains: [`${name}.race.example`], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
  });
}

describe('races', () => {
  it('a forced renewal while the daemon renews the same certificate: one order, the second process stands aside', async () => {
    const path = config('shared');
    const ordersBefore = rel.acme.calls.filter((call) => call.action === 'order-plz').length;
    rel.awsProxy.add({ match: (call) => call.action === 'ImportCertificate', fault: { hold: true }, times: 1 });
    const daemon = watchCli(['run', '--config', path], rel.env);
    try {
      await daemon.waitFor('acme.order.finalized', 1, 120_000);
      await rel.awsProxy.held('ImportCertificate');

      const forced = await runCli(['renew', '--force', '--config', path], rel.env);
      expect(eventsNamed(forced.events, 'renewal.skipped', 'shared')[0]).toMatchObject({ why: 'another certkeeper process is renewing this certificate' });
      expect(eventsNamed(forced.events, 'acme.order.created')).toEqual([]);
      expect(forced.code).toBe(1);

      rel.awsProxy.releaseHeld();
      const succeeded = await daemon.waitFor('renewal.succeeded', 1, 120_000);
      expect(rel.acme.calls.filter((call) => call.action === 'order-plz').length - ordersBefore).toBe(1);
      const deployed = (succeeded.deployments as { certificateArn: string }[])[0]!.certificateArn;
      expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBe(deployed);
      expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    } finally {
      daemon.child.kill('SIGTERM');
      const stopped = await exitWithin(daemon, 60_000);
      expect(stopped.code, stopped.stderr).toBe(0);
      expect(eventsNamed(stopped.events, 'daemon.stopped')).toHaveLength(1);
    }
  });

  it('SIGTERM while a pass waits on Route 53: the pass is cancelled, its challenge record removed, the daemon exits 0', async () => {
    const path = config('term');
    const before = (await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn;
    rel.awsProxy.add({ match: (call) => call.action === 'GetChange', fault: { hold: true }, times: 1 });
    const daemon = watchCli(['run', '--config', path], rel.env);
    await daemon.waitFor('dns.challenge.presented', 1, 120_000);
    await rel.awsProxy.held('GetChange');
    expect(await rel.aws.listAcmeChallengeRecords()).toHaveLength(1);

    daemon.child.kill('SIGTERM');
    await daemon.waitFor('daemon.stopping');
    // Route 53 answers; the renewal sees the stop and cleans up instead of going on.
    rel.awsProxy.releaseHeld();
    const stopped = await exitWithin(daemon, 60_000);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(eventsNamed(stopped.events, 'renewal.cancelled', 'term')).toHaveLength(1);
    expect(eventsNamed(stopped.events, 'dns.challenge.cleaned', 'term')).toHaveLength(1);
    expect(eventsNamed(stopped.events, 'acm.imported')).toEqual([]);
    expect(eventsNamed(stopped.events, 'daemon.stopped')).toHaveLength(1);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBe(before);
  });
});
