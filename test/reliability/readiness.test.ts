import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNotificationReceiver, type NotificationReceiver } from '../stack/notification-receiver.js';
import { freePort } from '../stack/ports.js';
import { servedListener, startReliabilityStack, writeConfig, type ReliabilityStack, type ServedListener } from './harness.js';
import { eventsNamed, runCli, watchCli, type AuditEvent, type WatchedCli } from './output-log.js';
import { get, sample } from '../stack/metrics-scrape.js';

/**
 * Health says what is true now (issue 12, item 6), with the real daemon: a failure followed by a pass
 * that finds the certificate valid, served and not due is healthy again everywhere (record, metric,
 * readiness) and resolved by a notification; readiness turns false when a served certificate expires
 * while renewals cannot succeed (the CA down), and true again when it is renewed.
 */

const LIFETIME_S = 60;
let rel: ReliabilityStack;
let receiver: NotificationReceiver;

beforeAll(async () => {
  [rel, receiver] = await Promise.all([startReliabilityStack({ pebble: { validitySeconds: LIFETIME_S } }), startNotificationReceiver()]);
  await rel.aws.createHostedZone('ready.example');
});

afterAll(async () => {
  await receiver?.stop();
  await rel?.stop();
});

async function waitForEvent(cli: WatchedCli, what: string, test: (event: AuditEvent) => boolean, timeoutMs = 90_000): Promise<AuditEvent> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const found = cli.events.find(test);
    if (found) return found;
    if (cli.child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no ${what} in: ${cli.events.map((event) => event.event).join(', ')}`);
}

async function config(name: string, listener: ServedListener, hook: string): Promise<string> {
  return writeConfig(rel, `${name}.config.mjs`, {
    stateDir: `${rel.workDir}/state-${name}`,
    // Once a year: every pass after the first is a planned wake-up.
    schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
    notifications: { webhookUrl: `${receiver.url}${hook}` },
    certificates: [
      {
        name,
        domains: [`${name}.ready.example`],
        acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }],
        verify: [{ host: '127.0.0.1', port: listener.serving.port, sni: `${name}.ready.example` }],
        verifyTimeoutSeconds: 10,
      },
    ],
  });
}

async function startDaemon(path: string): Promise<{ daemon: WatchedCli; base: string }> {
  const port = await freePort();
  const daemon = watchCli(['run', '--config', path, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], rel.env);
  await daemon.waitFor('metrics.listening');
  return { daemon, base: `http://127.0.0.1:${port}` };
}

describe('health says what is true now', () => {
  it('after a failure, a pass that finds the certificate valid, served and not due resets the count, the metric and readiness, and sends a resolved notification', async () => {
    const listener = await servedListener(rel, 'alb-recover');
    const hook = '/hooks/recover';
    const path = await config('recover', listener, hook);
    expect((await runCli(['renew', '--config', path], rel.env)).code).toBe(0);

    // One failed attempt: the CA refuses the order.
    rel.acme.add({
      match: (call) => call.action === 'order-plz',
      fault: {
        status: 403,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({ type: 'urn:ietf:params:acme:error:unauthorized', detail: 'refused for the test' }),
      },
      times: 1,
    });
    const failed = await runCli(['renew', '--force', '--config', path], rel.env);
    expect(failed.code).toBe(1);
    expect(eventsNamed(failed.events, 'renewal.failed', 'recover')[0]).toMatchObject({ consecutiveFailures: 1 });

    const { daemon, base } = await startDaemon(path);
    try {
      const recovered = await daemon.waitFor('certificate.recovered');
      expect(recovered).toMatchObject({ certificate: 'recover', previousFailures: 1, lastError: expect.stringContaining('refused for the test') });
      await waitForEvent(daemon, 'the end of that pass', (event) => event.event === 'pass.finished' && event.runId === recovered.runId);

      const metrics = (await get(`${base}/metrics`)).text;
      expect(sample(metrics, 'certkeeper_certificate_consecutive_failures', { name: 'recover' })).toBe(0);
      expect(sample(metrics, 'certkeeper_certificate_ready_status', { name: 'recover', condition: 'True' })).toBe(1);
      expect(sample(metrics, 'certkeeper_certificate_ready_status', { name: 'recover', condition: 'False' })).toBe(0);
      const ready = await get(`${base}/readyz`);
      expect(ready.status, ready.text).toBe(200);
      expect(JSON.parse(ready.text)).toMatchObject({ ready: true, certificates: [{ name: 'recover', ready: true }] });
      expect((await get(`${base}/healthz`)).status).toBe(200);

      await waitForEvent(daemon, 'the resolved notification', (event) => event.event === 'notification.sent' && event.about === 'certificate.recovered');
      const bodies = receiver.to(hook).map((request) => JSON.parse(request.body) as Record<string, unknown>);
      expect(bodies.map((body) => body.event)).toEqual(['renewal.failed', 'certificate.recovered']);
      expect(bodies[1]).toMatchObject({ severity: 'info', certificate: 'recover', previousFailures: 1 });
      expect(bodies[1]!.text).toMatch(/^certkeeper: resolved: recover is healthy again/);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.done;
      await listener.serving.stop();
    }

    // The failure stays visible as history.
    const [row] = JSON.parse((await runCli(['status', '--json', '--config', path], rel.env)).stdout) as Record<string, unknown>[];
    expect(row).toMatchObject({ consecutiveFailures: 0, lastError: expect.stringContaining('refused for the test'), lastErrorAt: expect.any(String) });
  });

  it('readiness turns false when a served certificate expires while renewals cannot succeed (the CA is down), true again once it is renewed; liveness stays true', async () => {
    const listener = await servedListener(rel, 'alb-lapse');
    const path = await config('lapse', listener, '/hooks/lapse');
    const { daemon, base } = await startDaemon(path);
    try {
      const issued = await daemon.waitFor('renewal.succeeded');
      await waitForEvent(daemon, 'the end of that pass', (event) => event.event === 'pass.finished' && event.runId === issued.runId);
      const before = await get(`${base}/readyz`);
      expect(before.status, before.text).toBe(200);
      const notAfter = Date.parse(issued.notAfter as string);

      await rel.acme.down();
      const polls: { at: number; ready: number; live: number; body: string; readyMetric?: number }[] = [];
      while (Date.now() < notAfter + 4_000) {
        const [ready, live, metrics] = await Promise.all([get(`${base}/readyz`), get(`${base}/healthz`), get(`${base}/metrics`)]);
        polls.push({
          at: Date.now(),
          ready: ready.status,
          live: live.status,
          body: ready.text,
          readyMetric: sample(metrics.text, 'certkeeper_certificate_ready_status', { name: 'lapse', condition: 'False' }),
        });
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      const emergencyAt = notAfter - (LIFETIME_S * 1000) / 20;
      const afterExpiry = polls.filter((poll) => poll.at > notAfter + 500);
      expect(afterExpiry.length).toBeGreaterThan(0);
      for (const poll of afterExpiry) {
        expect(poll.ready, poll.body).toBe(503);
        expect(JSON.parse(poll.body).reasons).toEqual([expect.stringMatching(/^lapse: expired at /)]);
        expect(poll.readyMetric).toBe(1);
      }
      // Before the emergency point a certificate that is valid and served is ready, whatever a renewal attempt is doing.
      expect(polls.filter((poll) => poll.at < emergencyAt - 500).every((poll) => poll.ready === 200)).toBe(true);
      // Alive throughout: restarting would not bring the CA back.
      expect(polls.every((poll) => poll.live === 200)).toBe(true);

      await rel.acme.up();
      const renewed = await waitForEvent(daemon, 'a renewal once the CA is back', (event) => event.event === 'renewal.succeeded' && event.notAfter !== issued.notAfter, 120_000);
      expect(Date.parse(renewed.notAfter as string)).toBeGreaterThan(Date.now());
      const ready = await get(`${base}/readyz`);
      expect(ready.status, ready.text).toBe(200);
    } finally {
      daemon.child.kill('SIGTERM');
      await daemon.done;
      await listener.serving.stop();
    }
  });
});
