import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, watchCli, type AuditEvent } from './output-log.js';

/**
 * The CA forgets the account (Pebble restarted: every account, order and authorization is gone, as after
 * a CA that lost its state) under a running daemon. The next renewals find the account unknown
 * (`accountDoesNotExist`), register the same key again once, and renew in the same pass: no restart of
 * certkeeper, no renewal failed.
 */

// Renewed at half their lifetime, so a second round of renewals comes 15 s after the first.
const LIFETIME_S = 30;
let rel: ReliabilityStack;

beforeAll(async () => {
  rel = await startReliabilityStack({ pebble: { validitySeconds: LIFETIME_S } });
  await rel.aws.createHostedZone('forgot.example');
});

afterAll(async () => {
  await rel?.stop();
});

describe('the CA forgets the account', () => {
  it('Pebble restarted under `run`: the account is registered again once, and both renewals after the restart succeed', async () => {
    const path = writeConfig(rel, 'forgot.config.mjs', {
      // New Year's midnight only: every pass after the first is a planned renewal.
      schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
      certificates: ['one', 'two'].map((name) => ({ name, domains: [`${name}.forgot.example`], acm: [{ region: 'us-east-1' }] })),
    });
    const daemon = watchCli(['run', '--config', path], rel.env);
    try {
      await daemon.waitFor('renewal.succeeded', 2, 120_000);
      const registered = await daemon.waitFor('acme.account.registered', 1);
      const firstAccountUrl = registered.accountUrl as string;
      await rel.stack.pebble.restart();
      const restartedAt = Date.now();

      // The next round: both certificates due again at half their lifetime.
      await daemon.waitFor('renewal.succeeded', 4, 90_000);
      const after = (events: AuditEvent[], name: string) => eventsNamed(events, name).filter((event) => Date.parse(event.time) >= restartedAt);
      expect(after(daemon.events, 'renewal.failed')).toEqual([]);
      // Found forgotten by the renewals of one pass, registered again once, with the URL the CA forgot.
      const again = after(daemon.events, 'acme.account.registered');
      expect(again).toHaveLength(1);
      expect(again[0]).toMatchObject({ previousAccountUrl: firstAccountUrl });
      expect(again[0]!.accountUrl).not.toBe(firstAccountUrl);
      expect(after(daemon.events, 'acme.account.forgotten').length).toBeGreaterThanOrEqual(1);
      expect(after(daemon.events, 'acme.account.forgotten')[0]).toMatchObject({ accountUrl: firstAccountUrl });
      expect(
        after(daemon.events, 'renewal.succeeded')
          .map((event) => event.certificate)
          .sort(),
      ).toEqual(['one', 'two']);
    } finally {
      daemon.child.kill('SIGTERM');
      const stopped = await daemon.done;
      expect(stopped.code, stopped.stderr).toBe(0);
    }
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
