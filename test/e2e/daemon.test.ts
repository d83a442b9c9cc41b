import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli, watchCli } from './cli.js';

/** `certkeeper run`: a pass at start, then on the cron schedule; SIGTERM/SIGINT stop it without leaving records. */

let stack: Stack;
let aws: AwsFixtures;
let listener: HttpsListener;
let workDir: string;

beforeAll(async () => {
  stack = await startStack();
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('daemon.example');
  listener = await aws.createHttpsListener({ name: 'alb-daemon' });
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-daemon-'));
});

afterAll(async () => {
  await stack?.stop();
});

function writeConfig(name: string, domains: string[], cron: string): string {
  return writeConfigFile(join(workDir, `${name}.config.mjs`), stack.directoryUrl, {
    stateDir: join(workDir, 'state'),
    schedule: { cron, jitterSeconds: 0 },
    certificates: [{ name, domains, acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
  });
}

describe('certkeeper run', () => {
  it('stops on SIGTERM in the middle of a renewal, leaving no challenge record behind', async () => {
    // A schedule that does not fire during the test: only the pass at start runs.
    const config = writeConfig('interrupted', ['a.daemon.example', 'b.daemon.example'], '0 0 1 1 *');
    stack.dns.answerDelayMs = 3_000;
    const daemon = watchCli(['run', '--config', config], stack.env);
    await daemon.waitFor('dns.challenge.presented');
    daemon.child.kill('SIGTERM');
    const { code, stderr, events } = await daemon.done;
    stack.dns.answerDelayMs = 0;
    expect(code, stderr).toBe(0);
    expect(eventsNamed(events, 'daemon.stopping')[0]).toMatchObject({ reason: 'SIGTERM', passRunning: true });
    expect(eventsNamed(events, 'daemon.stopped')).toHaveLength(1);
    expect(eventsNamed(events, 'dns.challenge.cleaned', 'interrupted')).toHaveLength(1);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('runs a pass at start and then on its schedule, and SIGINT stops it', async () => {
    const config = writeConfig('scheduled', ['c.daemon.example'], '*/2 * * * * *');
    const daemon = watchCli(['run', '--config', config], stack.env);
    // The pass at start renews; the scheduled passes after it find the certificate deployed and valid.
    await daemon.waitFor('pass.finished', 3);
    daemon.child.kill('SIGINT');
    const { code, stderr, events } = await daemon.done;
    expect(code, stderr).toBe(0);
    expect(eventsNamed(events, 'pass.started').length).toBeGreaterThanOrEqual(3);
    expect(eventsNamed(events, 'acme.order.created')).toHaveLength(1);
    expect(
      eventsNamed(events, 'renewal.decided')
        .slice(1)
        .every((event) => event.action === 'none'),
    ).toBe(true);
    expect(eventsNamed(events, 'daemon.stopped')).toHaveLength(1);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('after a SIGKILL mid-renewal, the next run removes the orphaned challenge records and converges', async () => {
    const config = writeConfig('killed', ['d.daemon.example'], '0 0 1 1 *');
    // A slow nameserver keeps the run waiting for validation, with its record published, when it is killed.
    stack.dns.answerDelayMs = 3_000;
    const renewal = watchCli(['renew', '--config', config], stack.env);
    await renewal.waitFor('dns.challenge.presented');
    renewal.child.kill('SIGKILL');
    await renewal.done;
    stack.dns.answerDelayMs = 0;
    expect((await aws.listAcmeChallengeRecords()).map((record) => record.name)).toEqual(['_acme-challenge.d.daemon.example']);

    const again = await runCli(['renew', '--config', config], stack.env);
    expect(again.code, again.stderr).toBe(0);
    expect(eventsNamed(again.events, 'dns.challenge.orphans_cleaned', 'killed')).toHaveLength(1);
    expect(eventsNamed(again.events, 'renewal.succeeded', 'killed')).toHaveLength(1);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('two processes renewing the same certificate at once order it only once', async () => {
    const config = writeConfig('raced', ['e.daemon.example'], '0 0 1 1 *');
    stack.dns.answerDelayMs = 1_000;
    const [a, b] = await Promise.all([runCli(['renew', '--config', config], stack.env), runCli(['renew', '--config', config], stack.env)]);
    stack.dns.answerDelayMs = 0;
    const orders = [...a.events, ...b.events].filter((event) => event.event === 'acme.order.created');
    expect(orders).toHaveLength(1);
    // One renewed; the other either found it renewed once it had the lock (0) or was told it is busy (1).
    expect([a.code, b.code]).toContain(0);
    expect([a.stdout, b.stdout].join('')).toMatch(/raced: renewed and deployed/);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
