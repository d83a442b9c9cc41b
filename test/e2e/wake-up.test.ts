import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, watchCli } from './cli.js';

/** `certkeeper run` acts the moment a planned renewal comes due, without waiting for the next scheduled pass. */

const LIFETIME_S = 30;
let stack: Stack;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ pebble: { validitySeconds: LIFETIME_S } });
  await awsFixtures(stack.motoEndpoint).createHostedZone('wake.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-wake-'));
});

afterAll(async () => {
  await stack?.stop();
});

describe('planned renewals between scheduled passes', () => {
  it('renews a 30-second certificate at half its lifetime although the schedule never fires', async () => {
    const config = join(workDir, 'wake.config.mjs');
    writeConfigFile(config, stack.directoryUrl, {
      stateDir: join(workDir, 'state'),
      // New Year's midnight only: any pass but the first one is a planned wake-up.
      schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
      certificates: [{ name: 'short', domains: ['short.wake.example'], acm: [{ region: 'us-east-1' }] }],
    });
    const daemon = watchCli(['run', '--config', config], stack.env);
    const first = await daemon.waitFor('renewal.succeeded', 1);
    const second = await daemon.waitFor('renewal.succeeded', 2, 40_000);
    daemon.child.kill('SIGTERM');
    const { code, events } = await daemon.done;
    expect(code).toBe(0);

    const issuedAt = Date.parse(first.time);
    const renewedAt = Date.parse(second.time);
    // Half of the 30-second lifetime, measured from the certificate's notBefore (a little before the log line).
    expect(renewedAt - issuedAt).toBeGreaterThan((LIFETIME_S / 2 - 2) * 1000);
    expect(renewedAt).toBeLessThan(Date.parse(first.notAfter as string));
    expect(eventsNamed(events, 'pass.started')).toHaveLength(2);
    expect(eventsNamed(events, 'renewal.decided')[1]).toMatchObject({ action: 'renew', checks: ['InRenewalWindow'] });
  });
});
