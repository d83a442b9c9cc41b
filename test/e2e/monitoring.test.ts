import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImportCertificateCommand } from '@aws-sdk/client-acm';
import { DeleteListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startNotificationReceiver, type NotificationReceiver } from '../stack/notification-receiver.js';
import { freePort } from '../stack/ports.js';
import { startStack, type Stack } from '../stack/stack.js';
import { selfSignedCertificate } from '../stack/tls.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli, watchCli, type AuditEvent, type WatchedCli } from './cli.js';
import { get, sample } from '../stack/metrics-scrape.js';

/** Knowing that it works: Prometheus metrics and /healthz of `certkeeper run`, notifications to SNS (moto) and a webhook. */

let stack: Stack;
let aws: AwsFixtures;
let receiver: NotificationReceiver;
let sns: SNSClient;
let workDir: string;

beforeAll(async () => {
  [stack, receiver] = await Promise.all([startStack({ preloadEc2: true }), startNotificationReceiver()]);
  aws = awsFixtures(stack.motoEndpoint);
  sns = new SNSClient({ endpoint: stack.motoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
  await aws.createHostedZone('monitoring.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-monitoring-'));
});

afterAll(async () => {
  sns?.destroy();
  await receiver?.stop();
  await stack?.stop();
});

async function waitForEvent(cli: WatchedCli, what: string, test: (event: AuditEvent) => boolean): Promise<AuditEvent> {
  for (const deadline = Date.now() + 90_000; Date.now() < deadline;) {
    const found = cli.events.find(test);
    if (found) return found;
    if (cli.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`no ${what} in: ${cli.events.map((event) => event.event).join(', ')}`);
}

describe('metrics and health of certkeeper run', () => {
  let listener: HttpsListener;
  let daemon: WatchedCli;
  let base: string;

  beforeAll(async () => {
    listener = await aws.createHttpsListener({ name: 'alb-metrics' });
    const config = writeConfigFile(join(workDir, 'metrics.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'state-metrics'),
      // A pass every 10 s: the health check allows 2 × 10 s without one.
      schedule: { cron: '*/10 * * * * *', jitterSeconds: 0 },
      metrics: { port: 1 }, // overridden by the flag: the flag wins
      certificates: [{ name: 'scraped', domains: ['www.monitoring.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
    });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    daemon = watchCli(['run', '--config', config, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], stack.env);
    expect(await daemon.waitFor('metrics.listening')).toMatchObject({ address: '127.0.0.1', port });
  });

  afterAll(async () => {
    if (daemon && daemon.child.exitCode === null) daemon.child.kill('SIGTERM');
    await daemon?.done;
  });

  it('after a renewal, /metrics shows the deployed notAfter, the renewal and the AWS and ACME calls; /healthz is 200', async () => {
    const renewed = await daemon.waitFor('renewal.succeeded');
    await waitForEvent(daemon, 'pass.finished of the renewal', (event) => event.event === 'pass.finished' && event.runId === renewed.runId);
    const certificateArn = eventsNamed(daemon.events, 'acm.imported')[0]!.certificateArn as string;
    const inAcm = await aws.describeAcm(certificateArn);

    const metrics = await get(`${base}/metrics`);
    expect(metrics.status).toBe(200);
    const { text } = metrics;
    expect(sample(text, 'certkeeper_certificate_expiration_timestamp_seconds', { name: 'scraped' })).toBe(inAcm.NotAfter!.getTime() / 1000);
    expect(sample(text, 'certkeeper_renewals_total', { name: 'scraped', result: 'success' })).toBe(1);
    // Which certkeeper answers: the version of package.json, as `daemon.started` logged it.
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(sample(text, 'certkeeper_build_info', { version })).toBe(1);
    expect(eventsNamed(daemon.events, 'daemon.started')[0]).toMatchObject({ version });
    expect(sample(text, 'certkeeper_certificate_consecutive_failures', { name: 'scraped' })).toBe(0);
    expect(sample(text, 'certkeeper_certificate_last_success_timestamp_seconds', { name: 'scraped' })).toBeGreaterThan(Date.parse(renewed.time) / 1000 - 1);
    expect(sample(text, 'certkeeper_aws_requests_total', { service: 'ACM', operation: 'ImportCertificate', outcome: 'success' })).toBe(1);
    expect(sample(text, 'certkeeper_aws_requests_total', { service: 'ElasticLoadBalancingV2', operation: 'ModifyListener', outcome: 'success' })).toBe(1);
    // One UPSERT of the challenge record, one DELETE.
    expect(sample(text, 'certkeeper_aws_requests_total', { service: 'Route53', operation: 'ChangeResourceRecordSets', outcome: 'success' })).toBe(2);
    expect(sample(text, 'certkeeper_acme_requests_total', { method: 'POST', endpoint: '/order-plz', outcome: 'success' })).toBe(1);
    expect(sample(text, 'certkeeper_pass_duration_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'certkeeper_pass_last_timestamp_seconds')).toBeGreaterThan(0);
    expect(sample(text, 'process_resident_memory_bytes')).toBeGreaterThan(0);

    const health = await get(`${base}/healthz`);
    expect(health.status, health.text).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ healthy: true, status: 'ok', maxPassAgeSeconds: 20, lastPass: { failed: 0 } });
    const ready = await get(`${base}/readyz`);
    expect(ready.status, ready.text).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ ready: true, status: 'ready', certificates: [{ name: 'scraped', ready: true, notAfter: inAcm.NotAfter!.toISOString() }] });
    expect(sample(text, 'certkeeper_certificate_ready_status', { name: 'scraped', condition: 'True' })).toBe(1);
    expect(sample(text, 'certkeeper_certificate_ready_status', { name: 'scraped', condition: 'False' })).toBe(0);
    // The next planned renewal comes from the decision of a later pass (the certificate is then deployed).
    await waitForEvent(daemon, 'a pass after the renewal', (event) => event.event === 'pass.finished' && event.runId !== renewed.runId);
    const later = (await get(`${base}/metrics`)).text;
    const decided = daemon.events.filter((event) => event.event === 'renewal.decided').at(-1)!;
    expect(sample(later, 'certkeeper_certificate_renewal_timestamp_seconds', { name: 'scraped' })).toBe(Date.parse(decided.renewAt as string) / 1000);
  });

  it('after a pass in which a certificate failed, /healthz stays 200 (a restart fixes nothing) and the metrics say so', async () => {
    // The listener disappears: the next pass cannot put the certificate back on it.
    await aws.elbv2().send(new DeleteListenerCommand({ ListenerArn: listener.listenerArn }));
    const failed = await waitForEvent(daemon, 'renewal.failed', (event) => event.event === 'renewal.failed' && event.certificate === 'scraped');
    expect(failed.error).toMatch(/listener/i);
    await waitForEvent(daemon, 'pass.finished of the failing pass', (event) => event.event === 'pass.finished' && event.runId === failed.runId);

    const health = await get(`${base}/healthz`);
    expect(health.status, health.text).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({ healthy: true, status: 'ok', lastPass: { failedCertificates: ['scraped'] } });
    // Valid for 90 days and nothing to serve it wrongly: a failure this early leaves it ready.
    expect((await get(`${base}/readyz`)).status).toBe(200);
    const text = (await get(`${base}/metrics`)).text;
    expect(sample(text, 'certkeeper_certificate_consecutive_failures', { name: 'scraped' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'certkeeper_renewals_total', { name: 'scraped', result: 'failure' })).toBeGreaterThanOrEqual(1);

    daemon.child.kill('SIGTERM');
    const { code, stderr } = await daemon.done;
    expect(code, stderr).toBe(0);
  });
});

describe('notifications', () => {
  let topicArn: string;
  const snsPath = '/sns-subscriber';

  beforeAll(async () => {
    topicArn = (await sns.send(new CreateTopicCommand({ Name: 'certkeeper-alerts' }))).TopicArn!;
    await sns.send(new SubscribeCommand({ TopicArn: topicArn, Protocol: 'http', Endpoint: `${receiver.url}${snsPath}` }));
  });

  /** What moto delivered to the topic's HTTP subscriber: the published messages, parsed. */
  const snsMessages = () =>
    receiver
      .to(snsPath)
      .map((request) => JSON.parse(request.body) as { Type: string; Message: string; Subject?: string })
      .filter((delivery) => delivery.Type === 'Notification')
      .map((delivery) => ({ subject: delivery.Subject, message: JSON.parse(delivery.Message) as Record<string, unknown> }));

  it('tells SNS and a webhook about a success (onSuccess), retrying a webhook that fails twice; the URL path is never logged', async () => {
    const hook = '/services/T0001/B0002/secret-token-in-path';
    receiver.behave(hook, { kind: 'fail-then-ok', failures: 2 });
    const config = writeConfigFile(join(workDir, 'notified.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'state-notified'),
      notifications: { snsTopicArn: topicArn, webhookUrl: `${receiver.url}${hook}`, onSuccess: true },
      certificates: [{ name: 'notified', domains: ['n.monitoring.example'], acm: [{ region: 'us-east-1' }] }],
    });
    const run = await runCli(['renew', '--config', config], stack.env);
    expect(run.code, run.stderr).toBe(0);
    const serial = eventsNamed(run.events, 'renewal.succeeded')[0]!.serial;

    expect(receiver.to(hook).map((request) => request.answered)).toEqual([500, 500, 200]);
    const body = JSON.parse(receiver.to(hook)[2]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ event: 'renewal.succeeded', severity: 'info', certificate: 'notified', serial, runId: expect.any(String) });
    expect(body.text).toMatch(/^certkeeper: renewed notified: serial [0-9a-f]+, valid until /);

    const [published] = snsMessages().filter(({ message }) => message.certificate === 'notified');
    expect(published!.message).toMatchObject({ event: 'renewal.succeeded', certificate: 'notified', serial, text: body.text });
    expect(published!.subject).toMatch(/^certkeeper: renewed notified/);

    const sent = eventsNamed(run.events, 'notification.sent', 'notified');
    expect(sent).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ about: 'renewal.succeeded', channel: 'webhook', target: new URL(receiver.url).host, attempts: 3 }),
        expect.objectContaining({ about: 'renewal.succeeded', channel: 'sns', target: topicArn, attempts: 1 }),
      ]),
    );
    expect(run.stderr).not.toContain('secret-token-in-path');
  });

  it('tells once when a certificate enters its emergency period, and on every failed renewal', async () => {
    const hook = '/hooks/urgent';
    // Deployed by hand long ago: 12 hours of a 20-day lifetime left. No hosted zone: every renewal fails.
    const old = await selfSignedCertificate('urgent.nozone.example', ['urgent.nozone.example'], {
      notBefore: new Date(Date.now() - 19.5 * 86_400_000),
      notAfter: new Date(Date.now() + 12 * 3_600_000),
    });
    const imported = await aws.acm().send(new ImportCertificateCommand({ Certificate: Buffer.from(old.certificatePem), PrivateKey: Buffer.from(old.privateKeyPem) }));
    const config = writeConfigFile(join(workDir, 'urgent.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'state-urgent'),
      notifications: { webhookUrl: `${receiver.url}${hook}` },
      certificates: [{ name: 'urgent', domains: ['urgent.nozone.example'], acm: [{ region: 'us-east-1', certificateArn: imported.CertificateArn }] }],
    });

    const first = await runCli(['renew', '--config', config], stack.env);
    expect(first.code, first.stderr).toBe(1);
    expect(eventsNamed(first.events, 'certificate.emergency', 'urgent')).toHaveLength(1);
    const second = await runCli(['renew', '--config', config], stack.env);
    expect(second.code, second.stderr).toBe(1);
    expect(eventsNamed(second.events, 'renewal.failed', 'urgent')).toHaveLength(1);
    expect(eventsNamed(second.events, 'certificate.emergency', 'urgent')).toHaveLength(0);

    const bodies = receiver.to(hook).map((request) => JSON.parse(request.body) as Record<string, unknown>);
    expect(bodies.map((body) => body.event)).toEqual(['certificate.emergency', 'renewal.failed', 'renewal.failed']);
    expect(bodies[0]).toMatchObject({ severity: 'critical', certificate: 'urgent', expired: false, notAfter: expect.any(String) });
    expect(bodies[0]!.text).toMatch(/^certkeeper: urgent has less than 1\/20 of its lifetime left/);
    expect(bodies[1]!.text).toMatch(/^certkeeper: renewing urgent failed: .*nozone\.example/);
    expect(bodies[2]!.text).toMatch(/\(2 failures in a row\)/);
  });

  it('a webhook that never answers does not hold the renewal up; at exit it is given up after the flush deadline', async () => {
    const hook = '/hooks/hanging';
    receiver.behave(hook, { kind: 'hang' });
    const config = writeConfigFile(join(workDir, 'patient.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'state-patient'),
      notifications: { webhookUrl: `${receiver.url}${hook}`, onSuccess: true },
      certificates: [{ name: 'patient', domains: ['p.monitoring.example'], acm: [{ region: 'us-east-1' }] }],
    });
    const run = await runCli(['renew', '--config', config], stack.env);
    expect(run.code, run.stderr).toBe(0);
    expect(receiver.to(hook)).toHaveLength(1);
    const names = run.events.map((event) => event.event);
    // The pass finished while the notification was still waiting for an answer.
    expect(names.indexOf('pass.finished')).toBeGreaterThan(names.indexOf('renewal.succeeded'));
    expect(names.indexOf('notification.failed')).toBeGreaterThan(names.indexOf('pass.finished'));
    expect(eventsNamed(run.events, 'notification.failed', 'patient')[0]).toMatchObject({
      about: 'renewal.succeeded',
      channel: 'webhook',
      error: expect.stringMatching(/shutting down/),
    });
    expect(names).not.toContain('notification.sent');
  });
});
