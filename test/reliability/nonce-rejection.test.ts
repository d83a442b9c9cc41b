import { afterAll, beforeAll, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli } from './output-log.js';
import { BAD_NONCE_RETRIES } from '../../src/acme/account.js';

/** Lengths of the runs of consecutive rejections. */
function runsOfRejections(rejected: boolean[]): number[] {
  const runs = [0];
  for (const value of rejected) {
    if (value) runs[runs.length - 1]! += 1;
    else runs.push(0);
  }
  return runs;
}

/**
 * The CA rejects 60 % of nonces (Pebble's PEBBLE_WFE_NONCEREJECT): every signed request may come back
 * badNonce. Renewals still go through (a fresh nonce and a new signature each time), within bounded retries.
 * Found: with acme-client's 5 retries, about 4 renewals in 10 failed at this rate (six rejections in a row
 * happen to one of a dozen signed requests); certkeeper now allows 20 (BAD_NONCE_RETRIES).
 */

let rel: ReliabilityStack;
let listener: HttpsListener;

beforeAll(async () => {
  rel = await startReliabilityStack({ pebble: { env: { PEBBLE_WFE_NONCEREJECT: '60' } } });
  await rel.aws.createHostedZone('nonce.example');
  listener = await rel.aws.createHttpsListener({ name: 'alb-nonce' });
});

afterAll(async () => {
  await rel?.stop();
});

it('renews three times in a row with 60 % of nonces rejected: every signed request retried, nothing left behind', async () => {
  const path = writeConfig(rel, 'nonce.config.mjs', {
    certificates: [{ name: 'www', domains: ['www.nonce.example', 'api.nonce.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
  });
  for (let round = 0; round < 3; round++) {
    const run = await runCli(['renew', '--force', '--config', path], rel.env);
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'www')).toHaveLength(1);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  }
  const signed = rel.acme.calls.filter((call) => call.method === 'POST');
  const rejected = signed.filter((call) => call.status === 400);
  // Pebble really rejected a good share of them (the retries were exercised), and each was retried, boundedly.
  expect(rejected.length).toBeGreaterThan(signed.length / 4);
  const longestRun = Math.max(...runsOfRejections(signed.map((call) => call.status === 400)));
  expect(longestRun).toBeLessThanOrEqual(BAD_NONCE_RETRIES + 1);
  expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBeDefined();
});
