import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { awsError, type ProxiedCall } from './fault-proxy.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli } from './output-log.js';

/**
 * Issue 15: a pass's renewals all deploy at once, paced by ACM's and ELBv2's request rates; throttling by
 * AWS is retried inside the pacing layer (src/aws/request-pacing.ts) and never reaches the user while it
 * ends within a minute. The fault proxy in front of moto throttles every ImportCertificate, GetCertificate
 * and listener update for 10 s, as an account whose budget other tools are spending would.
 */

const N = 6;
let rel: ReliabilityStack;
let listeners: HttpsListener[];

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('throttle.example');
  listeners = await Promise.all(Array.from({ length: N }, (_, index) => rel.aws.createHttpsListener({ name: `alb-throttle-${index}` })));
});

afterAll(async () => {
  await rel?.stop();
});

const THROTTLED = new Set(['ImportCertificate', 'GetCertificate', 'ModifyListener', 'AddListenerCertificates']);

describe('AWS throttling while a pass deploys every certificate at once', () => {
  it('renews all of them; no throttling error reaches the output or a renewal.failed', async () => {
    const path = writeConfig(rel, 'aws-throttling.config.mjs', {
      aws: { region: 'us-east-1', requestTimeoutSeconds: 10 },
      certificates: listeners.map((listener, index) => ({
        name: `c${index}`,
        domains: [`c${index}.throttle.example`],
        acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }],
      })),
    });
    // Every such call is refused for 10 s from the first of its kind: longer than the SDK's own 5 attempts last (about
    // 2 s of backoff), so only the pacing layer's minute gets them through.
    const until = new Map<string, number>();
    rel.awsProxy.add({
      match: (call: ProxiedCall) => {
        if (!THROTTLED.has(call.action)) return false;
        if (!until.has(call.action)) until.set(call.action, Date.now() + 10_000);
        return Date.now() < until.get(call.action)!;
      },
      fault: (call) => (call.action.includes('Listener') ? awsError(call, 400, 'Throttling', 'Rate exceeded') : awsError(call, 400, 'ThrottlingException', 'Rate exceeded')),
    });
    const start = rel.awsProxy.calls.length;
    const run = await runCli(['renew', '--config', path], rel.env);
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.succeeded')).toHaveLength(N);
    expect(eventsNamed(run.events, 'renewal.failed')).toHaveLength(0);
    expect(`${run.stdout}\n${run.stderr}`).not.toMatch(/Rate exceeded|Throttling/);
    const calls = rel.awsProxy.calls.slice(start);
    // The faults did happen, on imports and on listener updates.
    expect(calls.filter((call) => call.fault === 'status 400' && call.action === 'ImportCertificate').length).toBeGreaterThan(0);
    expect(
      calls.filter((call) => call.fault === 'status 400' && THROTTLED.has(call.action) && call.action !== 'ImportCertificate' && call.action !== 'GetCertificate').length,
    ).toBeGreaterThan(0);
    for (const listener of listeners) expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toMatch(/^arn:aws:acm:/);
  });
});
