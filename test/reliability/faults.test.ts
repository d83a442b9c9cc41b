import { DeleteCertificateCommand } from '@aws-sdk/client-acm';
import { DeleteListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { awsError, type ProxiedCall } from './fault-proxy.js';
import { needingChallenge, startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli, type CliResult } from './output-log.js';

/**
 * Faults of the CA and of AWS, injected by the fault proxies in front of Pebble and moto. Two
 * certificates on two listeners: the fault touches only `victim`; `bystander` must renew regardless.
 * Each fault: bounded retries, a clear error, the deployed certificate stays, no challenge record is
 * left, and the next run without the fault converges.
 */

let rel: ReliabilityStack;
let victim: HttpsListener;
let bystander: HttpsListener;
let path: string;
const VICTIM = 'victim.fault.example';
const BYSTANDER = 'bystander.fault.example';

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('fault.example');
  [victim, bystander] = await Promise.all([rel.aws.createHttpsListener({ name: 'alb-victim' }), rel.aws.createHttpsListener({ name: 'alb-bystander' })]);
  path = config('ecdsa-p256');
  const first = await renew();
  expect(first.code, first.stderr).toBe(0);
});

/** A key-type change for the victim makes its renewal import a new ARN and move its listener (ELBv2 calls). */
function config(victimKeyType: string, propagation?: { check?: boolean; timeoutSeconds?: number }): string {
  return writeConfig(rel, `faults-${victimKeyType}${propagation ? `-${JSON.stringify(propagation).replace(/\W+/g, '-')}` : ''}.config.mjs`, {
    // The AWS SDK's own retries, with a short request timeout so a hanging call costs seconds here.
    aws: { region: 'us-east-1', requestTimeoutSeconds: 3 },
    ...(propagation && { route53: { propagation } }),
    certificates: [
      { name: 'victim', domains: [VICTIM], keyType: victimKeyType, acm: [{ region: 'us-east-1', listeners: [{ arn: victim.listenerArn }] }] },
      { name: 'bystander', domains: [BYSTANDER], acm: [{ region: 'us-east-1', listeners: [{ arn: bystander.listenerArn }] }] },
    ],
  });
}

afterEach(() => {
  rel.acme.clear();
  rel.awsProxy.clear();
});

afterAll(async () => {
  await rel?.stop();
});

// Many renewals of the same names in minutes: certkeeper's own duplicate-certificate guard would hold them back.
const renew = (...names: string[]) => renewWith(path, ...names);
const renewWith = (configPath: string, ...names: string[]) => runCli(['renew', '--force', '--ignore-rate-limits', '--config', configPath, ...names], rel.env);

/** ACM ImportCertificate of a certificate for `domain` (the name is in the DER of the certificate sent). */
function importsFor(domain: string) {
  return (call: ProxiedCall) => {
    if (call.action !== 'ImportCertificate') return false;
    const pem = Buffer.from((JSON.parse(call.text) as { Certificate: string }).Certificate, 'base64').toString('utf8');
    return Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64').includes(domain);
  };
}
const modifiesListener = (listenerArn: string) => (call: ProxiedCall) => call.action === 'ModifyListener' && new URLSearchParams(call.text).get('ListenerArn') === listenerArn;

/** The failure stayed with the victim, said why, and made nothing worse. */
async function expectVictimFailedCleanly(run: CliResult, why: RegExp, victimBefore: string | undefined, { bystanderRan = true } = {}): Promise<string> {
  expect(run.code, run.stderr).toBe(1);
  const failed = eventsNamed(run.events, 'renewal.failed', 'victim')[0];
  expect(failed, run.stderr).toBeDefined();
  expect(String(failed!.error)).toMatch(why);
  // No stack trace in what the user reads.
  expect(String(failed!.error)).not.toMatch(/\n\s+at /);
  expect(run.stdout).not.toMatch(/\n\s+at /);
  if (bystanderRan) expect(eventsNamed(run.events, 'renewal.succeeded', 'bystander')).toHaveLength(1);
  expect((await rel.aws.describeListenerCertificates(victim.listenerArn)).defaultArn).toBe(victimBefore);
  expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  return String(failed!.error);
}

async function expectConvergesAfterwards(): Promise<void> {
  const run = await renew('victim');
  expect(run.code, run.stderr).toBe(0);
  expect(eventsNamed(run.events, 'renewal.succeeded', 'victim')).toHaveLength(1);
  expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
}

const victimArn = async () => (await rel.aws.describeListenerCertificates(victim.listenerArn)).defaultArn;

describe('ACME server faults', () => {
  it('5xx with Retry-After on newOrder, twice: retried, renewed', async () => {
    rel.acme.add({
      match: (call) => call.action === 'order-plz',
      fault: {
        status: 503,
        headers: { 'retry-after': '1', 'content-type': 'application/problem+json' },
        body: JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'overloaded' }),
      },
      times: 2,
    });
    const run = await renew();
    expect(run.code, run.stderr).toBe(0);
    expect(rel.acme.calls.filter((call) => call.fault === 'status 503')).toHaveLength(2);
  });

  it('5xx on every finalize: bounded retries, a clear error, nothing left', async () => {
    const before = await victimArn();
    rel.acme.add({
      match: (call) => call.action === 'finalize-order',
      fault: {
        status: 500,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'the CA is broken' }),
      },
    });
    const run = await renew('victim');
    expect(run.code, run.stderr).toBe(1);
    expect(String(eventsNamed(run.events, 'renewal.failed', 'victim')[0]?.error)).toMatch(/the CA is broken/);
    const attempts = rel.acme.calls.filter((call) => call.fault === 'status 500').length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(6);
    expect(await victimArn()).toBe(before);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    rel.acme.clear();
    await expectConvergesAfterwards();
  });

  it('429 with Retry-After on newOrder: not retried inside the run, recorded, said', async () => {
    const before = await victimArn();
    rel.acme.add({
      match: (call) => call.action === 'order-plz',
      fault: {
        status: 429,
        headers: { 'retry-after': '3600', 'content-type': 'application/problem+json' },
        body: JSON.stringify({ type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' }),
      },
      times: 1,
    });
    const run = await renew('victim');
    expect(run.code, run.stderr).toBe(1);
    expect(rel.acme.calls.filter((call) => call.fault === 'status 429')).toHaveLength(1);
    expect(String(eventsNamed(run.events, 'renewal.failed', 'victim')[0]?.error)).toMatch(/too many new orders/);
    expect(eventsNamed(run.events, 'acme.rate_limited', 'victim')).toHaveLength(1);
    expect(await victimArn()).toBe(before);
  });

  it('the CA down (connections refused): a clear error, nothing left; up again: converges', async () => {
    const before = await victimArn();
    await rel.acme.down();
    let run: CliResult;
    try {
      run = await renew('victim');
    } finally {
      await rel.acme.up();
    }
    expect(run.code, run.stderr).toBe(1);
    expect(String(eventsNamed(run.events, 'renewal.failed', 'victim')[0]?.error)).toMatch(
      /cannot reach the ACME server at https:\/\/127\.0\.0\.1:\d+\/\S* ?: ?ECONNREFUSED \(after \d+ attempts over \d+ s\)/,
    );
    expect(await victimArn()).toBe(before);
    // --ignore-rate-limits: the CA-side guard would otherwise hold the next try back.
    await expectConvergesAfterwards();
  });

  it('the CA back after a short outage: the renewal waiting on it resumes within about a second', async () => {
    await rel.acme.down();
    const running = renew('victim');
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const upAt = Date.now();
    await rel.acme.up();
    const run = await running;
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'victim')).toHaveLength(1);
    // Connections refused leave no call in the proxy's record: the first one recorded is the first that got through.
    const resumedAfterMs = rel.acme.calls.find((call) => call.at >= upAt)!.at - upAt;
    expect(resumedAfterMs).toBeLessThan(2_000);
  });

  // Route 53 answers the challenge write but drops it: no nameserver ever serves the value. A dropped
  // change drops every value in it, and the bystander's would share the victim's change (same zone,
  // same pass): these two renew the victim alone.
  const dropChallengeWrites = () =>
    rel.awsProxy.add({
      match: (call) => call.action === 'ChangeResourceRecordSets' && call.text.includes(`_acme-challenge.${VICTIM}`) && !call.text.includes('clean up'),
      fault: {
        status: 200,
        headers: { 'content-type': 'text/xml' },
        body: `<?xml version="1.0"?><ChangeResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeInfo><Id>/change/CDROPPED</Id><Status>INSYNC</Status><SubmittedAt>${new Date().toISOString()}</SubmittedAt></ChangeInfo></ChangeResourceRecordSetsResponse>`,
      },
    });

  it('a TXT value Route 53 acknowledges but never serves: the propagation check refuses before the CA is asked, naming the nameserver', async () => {
    let before: string | undefined;
    dropChallengeWrites();
    const run = await needingChallenge(async () => ((before = await victimArn()), renewWith(config('ecdsa-p256', { timeoutSeconds: 3 }), 'victim')));
    const error = await expectVictimFailedCleanly(
      run,
      /propagation check: nameserver 127\.0\.0\.1:\d+ of zone fault\.example .* still answers no TXT values for _acme-challenge\.victim\.fault\.example after 3 s/,
      before,
      { bystanderRan: false },
    );
    expect(error).not.toMatch(/undefined/);
    // The challenge was never answered, so the CA counted no failed validation against the name.
    expect(eventsNamed(run.events, 'acme.challenges.valid', 'victim')).toEqual([]);
    rel.awsProxy.clear();
    await expectConvergesAfterwards();
  });

  it('an order that goes invalid (propagation check off, the TXT record never reaches DNS): a clear error, nothing left', async () => {
    let before: string | undefined;
    // Without the check, the CA itself finds no TXT value and invalidates the order.
    dropChallengeWrites();
    const run = await needingChallenge(async () => ((before = await victimArn()), renewWith(config('ecdsa-p256', { check: false }), 'victim')));
    const error = await expectVictimFailedCleanly(run, new RegExp(`dns-01 challenge for ${VICTIM.replace(/\./g, '\\.')} failed`), before, { bystanderRan: false });
    expect(error).not.toMatch(/undefined/);
    rel.awsProxy.clear();
    await expectConvergesAfterwards();
  });
});

describe('AWS faults', () => {
  it('ACM throttling, three times: retried inside the pacing layer, renewed', async () => {
    rel.awsProxy.add({ match: importsFor(VICTIM), fault: (call) => awsError(call, 400, 'ThrottlingException', 'Rate exceeded'), times: 3 });
    const run = await renew();
    expect(run.code, run.stderr).toBe(0);
    expect(rel.awsProxy.calls.filter((call) => call.fault === 'status 400')).toHaveLength(3);
  });

  // Throttling is retried for a minute inside the pacing layer (src/aws/request-pacing.ts), at the
  // slowed bucket's pace (at least 2 s apart once halved to its floor of 0.5/s), then handed back.
  it('ACM throttling that does not stop: retried for a minute, then bounded, clear, isolated', async () => {
    const before = await victimArn();
    const start = rel.awsProxy.calls.length;
    rel.awsProxy.add({ match: importsFor(VICTIM), fault: (call) => awsError(call, 400, 'ThrottlingException', 'Rate exceeded') });
    const run = await renew();
    await expectVictimFailedCleanly(run, /Rate exceeded/, before);
    const attempts = rel.awsProxy.calls.slice(start).filter((call) => call.fault === 'status 400').length;
    expect(attempts).toBeGreaterThan(1);
    expect(attempts).toBeLessThanOrEqual(45);
    rel.awsProxy.clear();
    await expectConvergesAfterwards();
  });

  it('ELBv2 5xx on the listener update that does not stop: bounded, clear, isolated; the imported certificate is found again', async () => {
    const before = await victimArn();
    path = config('ecdsa-p384');
    rel.awsProxy.add({ match: modifiesListener(victim.listenerArn), fault: (call) => awsError(call, 503, 'ServiceUnavailable', 'Service is unavailable') });
    const run = await renew();
    await expectVictimFailedCleanly(run, /unavailable/i, before);
    rel.awsProxy.clear();
    await expectConvergesAfterwards();
  });

  it('ACM that hangs (no answer) twice: each call times out, the third goes through', async () => {
    const start = rel.awsProxy.calls.length;
    rel.awsProxy.add({ match: importsFor(VICTIM), fault: { delayMs: 60_000 }, times: 2 });
    const run = await renew('victim');
    expect(run.code, run.stderr).toBe(0);
    expect(rel.awsProxy.calls.slice(start).filter((call) => call.action === 'ImportCertificate')).toHaveLength(3);
  });

  it('ELBv2 that never answers: bounded by the request timeout, a clear error, isolated', async () => {
    const before = await victimArn();
    path = config('ecdsa-p256');
    rel.awsProxy.add({ match: modifiesListener(victim.listenerArn), fault: { hold: true } });
    const run = await renew();
    await expectVictimFailedCleanly(run, /timed? ?out|timeout/i, before);
    rel.awsProxy.dropHeld();
    rel.awsProxy.clear();
    await expectConvergesAfterwards();
  });

  it('an ACM certificate deleted by hand: the next run imports a new one and binds it', async () => {
    const before = (await victimArn())!;
    await rel.aws.acm().send(new DeleteCertificateCommand({ CertificateArn: before }));
    // Not forced: the deletion alone makes it due (the suite's many renewals would trip certkeeper's own duplicate guard).
    const run = await runCli(['renew', '--ignore-rate-limits', '--config', path], rel.env);
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.decided', 'victim')[0]).toMatchObject({ action: 'renew', checks: ['NotDeployed'] });
    expect(eventsNamed(run.events, 'renewal.decided', 'bystander')[0]).toMatchObject({ action: 'none' });
    const after = await victimArn();
    expect(after).not.toBe(before);
    expect((await rel.aws.describeAcm(after!)).DomainName).toBe(VICTIM);
  });

  it('a listener deleted under it: a clear error naming the listener, the other certificate unaffected, nothing left', async () => {
    await rel.aws.elbv2().send(new DeleteListenerCommand({ ListenerArn: victim.listenerArn }));
    const run = await renew();
    expect(run.code, run.stderr).toBe(1);
    expect(String(eventsNamed(run.events, 'renewal.failed', 'victim')[0]?.error)).toContain(victim.listenerArn);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'bystander')).toHaveLength(1);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    const status = await runCli(['status', '--json', '--config', path], rel.env);
    const rows = JSON.parse(status.stdout) as { name: string; reasons: string[] }[];
    expect(rows.find((row) => row.name === 'victim')!.reasons.join(' ')).toContain(victim.listenerArn);
  });
});
