import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, type AuditEntry } from '../../src/telemetry/logger.js';
import { Notifier, notificationFor, type Notification, type NotificationSink } from '../../src/telemetry/notifications.js';
import { subjectLine } from '../../src/telemetry/sinks/sns-sink.js';
import { webhookSink } from '../../src/telemetry/sinks/webhook-sink.js';
import { freePort } from '../stack/ports.js';
import { startNotificationReceiver, type NotificationReceiver } from '../stack/notification-receiver.js';

function capture() {
  const stream = new PassThrough();
  const lines: Record<string, unknown>[] = [];
  stream.on('data', (chunk) =>
    String(chunk)
      .trim()
      .split('\n')
      .filter(Boolean)
      .forEach((line) => lines.push(JSON.parse(line))),
  );
  return { log: createLogger({ stream, pretty: false, level: 'debug' }), lines };
}

const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const fast = { baseDelayMs: 1, maxDelayMs: 4, attemptTimeoutMs: 2_000 };

let receiver: NotificationReceiver;
beforeAll(async () => (receiver = await startNotificationReceiver()));
afterAll(async () => receiver?.stop());

describe('which events notify', () => {
  const entry = (event: string, fields: Record<string, unknown>): AuditEntry => ({ level: 'info', event, fields });

  it('trouble always; success only with onSuccess; nothing else', () => {
    expect(notificationFor(entry('renewal.failed', { certificate: 'api', runId: 'r', error: 'no zone', consecutiveFailures: 3 }), false)).toMatchObject({
      event: 'renewal.failed',
      severity: 'critical',
      certificate: 'api',
      runId: 'r',
      text: 'certkeeper: renewing api failed (3 failures in a row): no zone',
      fields: { error: 'no zone', consecutiveFailures: 3 },
    });
    expect(notificationFor(entry('deploy.not_served', { certificate: 'api', error: 'serves serial 01' }), false)?.text).toBe(
      'certkeeper: api is deployed but not served: serves serial 01',
    );
    expect(notificationFor(entry('certificate.emergency', { certificate: 'api', notAfter: 'T', expired: true }), false)?.text).toBe('certkeeper: api expired at T; renewing now');
    expect(notificationFor(entry('renewal.succeeded', { certificate: 'api', serial: '0a', notAfter: 'T' }), false)).toBeUndefined();
    expect(notificationFor(entry('renewal.succeeded', { certificate: 'api', serial: '0a', notAfter: 'T' }), true)?.severity).toBe('info');
    expect(notificationFor(entry('acm.imported', { certificate: 'api' }), true)).toBeUndefined();
  });

  it('a recovery resolves (whatever onSuccess says); a pass failed as a whole, a hold past the emergency point and a clock problem are trouble', () => {
    expect(notificationFor(entry('certificate.recovered', { certificate: 'api', previousFailures: 2, lastError: 'no credentials', notAfter: 'T' }), false)).toMatchObject({
      severity: 'info',
      text: 'certkeeper: resolved: api is healthy again (valid until T) after 2 failure(s); last: no credentials',
    });
    expect(notificationFor(entry('pass.failed', { error: 'store unreadable' }), false)).toMatchObject({
      severity: 'critical',
      text: 'certkeeper: a pass failed as a whole (no certificate was looked at): store unreadable',
    });
    expect(notificationFor(entry('renewal.held_past_emergency', { certificate: 'api', notAfter: 'T', reasons: ['due', 'held past its emergency point'] }), false)).toMatchObject({
      severity: 'critical',
      text: 'certkeeper: api is held past its emergency point (expires T): held past its emergency point',
    });
    expect(notificationFor(entry('clock.skew', { certificate: 'api', why: 'the clock is ahead' }), false)?.text).toBe(
      'certkeeper: clock problem renewing api: the clock is ahead; nothing is ordered again until the clock is right',
    );
  });

  it('SNS subjects are short printable ASCII', () => {
    expect(subjectLine('a\nb é')).toBe('a b ?');
    expect(subjectLine('x'.repeat(150))).toHaveLength(100);
  });
});

describe('notifier', () => {
  it('follows the audit log, retries a failing webhook with backoff, and logs only its host', async () => {
    const path = '/hooks/T1/B2/secret-part';
    receiver.behave(path, { kind: 'fail-then-ok', failures: 2 });
    const { log, lines } = capture();
    const notifier = new Notifier([webhookSink(`${receiver.url}${path}`)], log, fast);
    notifier.follow(log);
    log.child({ runId: 'r1', certificate: 'api' }).error('renewal.failed', { error: `boom ${KEY}`, consecutiveFailures: 1 });
    await notifier.flush(5_000);
    expect(receiver.to(path).map((request) => request.answered)).toEqual([500, 500, 200]);
    const body = JSON.parse(receiver.to(path)[2]!.body) as Record<string, unknown>;
    expect(body).toMatchObject({ event: 'renewal.failed', certificate: 'api', runId: 'r1', consecutiveFailures: 1, error: '[redacted: private key material]' });
    expect(receiver.to(path)[2]!.body).not.toContain('PRIVATE KEY');
    expect(lines.filter((line) => line.event === 'notification.sent')).toEqual([
      expect.objectContaining({ runId: 'r1', certificate: 'api', about: 'renewal.failed', channel: 'webhook', target: new URL(receiver.url).host, attempts: 3 }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret-part');
  });

  it('gives up after its tries and says why, without the URL path', async () => {
    const { log, lines } = capture();
    const closed = await freePort(); // nothing listens there
    const notifier = new Notifier([webhookSink(`http://127.0.0.1:${closed}/secret-path`)], log, { ...fast, attempts: 3 });
    notifier.follow(log);
    log.error('renewal.failed', { certificate: 'api', error: 'x' });
    await notifier.flush(5_000);
    const failed = lines.find((line) => line.event === 'notification.failed');
    expect(failed).toMatchObject({
      about: 'renewal.failed',
      channel: 'webhook',
      target: `127.0.0.1:${closed}`,
      attempts: 3,
      error: `webhook at 127.0.0.1:${closed}: connect ECONNREFUSED 127.0.0.1:${closed}`,
    });
    expect(JSON.stringify(lines)).not.toContain('secret-path');
  });

  it('keeps a bounded queue per channel: the oldest is dropped and logged; another channel is not held up', async () => {
    const { log, lines } = capture();
    const sent: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow: NotificationSink = {
      channel: 'slow',
      target: 'slow',
      send: async (n: Notification) => {
        await gate;
        sent.push(`slow:${String(n.fields.error)}`);
      },
    };
    const quick: NotificationSink = { channel: 'quick', target: 'quick', send: async (n: Notification) => void sent.push(`quick:${String(n.fields.error)}`) };
    const notifier = new Notifier([slow, quick], log, { ...fast, maxQueue: 2 });
    notifier.follow(log);
    for (const error of ['a', 'b', 'c', 'd']) log.error('renewal.failed', { certificate: 'api', error });
    await new Promise((resolve) => setImmediate(resolve));
    // "a" is being sent when "b", "c", "d" arrive: "b" is the oldest beyond 2 waiting, on each channel.
    expect(sent).toEqual(['quick:a', 'quick:c', 'quick:d']);
    release();
    await notifier.flush(5_000);
    expect(sent.filter((entry) => entry.startsWith('slow:'))).toEqual(['slow:a', 'slow:c', 'slow:d']);
    expect(lines.filter((line) => line.event === 'notification.dropped')).toHaveLength(2);
  });

  it('flush abandons what a hanging channel still holds at the deadline', async () => {
    const path = '/hooks/hang';
    receiver.behave(path, { kind: 'hang' });
    const { log, lines } = capture();
    const notifier = new Notifier([webhookSink(`${receiver.url}${path}`)], log, { ...fast, attemptTimeoutMs: 60_000 });
    notifier.follow(log);
    log.error('renewal.failed', { certificate: 'api', error: 'x' });
    log.error('deploy.not_served', { certificate: 'api', error: 'y' });
    await notifier.flush(200);
    const failed = lines.filter((line) => line.event === 'notification.failed');
    expect(failed.map((line) => line.about).sort()).toEqual(['deploy.not_served', 'renewal.failed']);
    expect(failed.every((line) => /shutting down/.test(String(line.error)))).toBe(true);
  });
});
