import { describe, expect, it } from 'vitest';
import { acmeEndpoint } from '../../src/acme/ca-http.js';
import { awsOutcome } from '../../src/telemetry/aws-request-metrics.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { followAuditEvents, registry, reportReadiness } from '../../src/telemetry/metrics.js';
import { ReadinessTracker } from '../../src/telemetry/readiness.js';
import { PassThrough } from 'node:stream';

async function value(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  // A histogram's series (`_count`, `_sum`, `_bucket`) are listed under its own name.
  const metric = (await registry.getMetricsAsJSON()).find((entry) => entry.name === name || name.startsWith(`${entry.name}_`));
  const found = metric?.values.find(
    (entry) => ((entry as { metricName?: string }).metricName ?? metric.name) === name && Object.entries(labels).every(([key, v]) => entry.labels[key] === v),
  );
  return found?.value;
}

describe('metrics from audit events', () => {
  it('follows renewal.decided, renewal.succeeded, renewal.failed and pass.finished', async () => {
    const log = createLogger({ stream: new PassThrough(), pretty: false });
    const stop = followAuditEvents(log);
    const api = log.child({ runId: 'r1', certificate: 'unit-api' });
    api.info('renewal.decided', { action: 'none', renewAt: '2026-05-01T00:00:00.000Z', notAfter: '2026-06-01T00:00:00.000Z', consecutiveFailures: 2, lastSuccessAt: null });
    expect(await value('certkeeper_certificate_expiration_timestamp_seconds', { name: 'unit-api' })).toBe(Date.parse('2026-06-01T00:00:00Z') / 1000);
    expect(await value('certkeeper_certificate_renewal_timestamp_seconds', { name: 'unit-api' })).toBe(Date.parse('2026-05-01T00:00:00Z') / 1000);
    expect(await value('certkeeper_certificate_consecutive_failures', { name: 'unit-api' })).toBe(2);
    // null: nothing known, so no series (rather than a misleading 0).
    expect(await value('certkeeper_certificate_last_success_timestamp_seconds', { name: 'unit-api' })).toBeUndefined();

    api.error('renewal.failed', { error: 'x', consecutiveFailures: 3 });
    expect(await value('certkeeper_certificate_consecutive_failures', { name: 'unit-api' })).toBe(3);
    expect(await value('certkeeper_renewals_total', { name: 'unit-api', result: 'failure' })).toBe(1);
    api.info('renewal.succeeded', { serial: '0a', notAfter: '2026-08-01T00:00:00.000Z' });
    expect(await value('certkeeper_certificate_consecutive_failures', { name: 'unit-api' })).toBe(0);
    expect(await value('certkeeper_renewals_total', { name: 'unit-api', result: 'success' })).toBe(1);
    expect(await value('certkeeper_certificate_expiration_timestamp_seconds', { name: 'unit-api' })).toBe(Date.parse('2026-08-01T00:00:00Z') / 1000);
    expect(await value('certkeeper_certificate_last_success_timestamp_seconds', { name: 'unit-api' })).toBeGreaterThan(0);

    const before = (await value('certkeeper_pass_duration_seconds_count')) ?? 0;
    log.info('pass.finished', { durationMs: 2500, failed: 0 });
    expect(await value('certkeeper_pass_duration_seconds_count')).toBe(before + 1);
    stop();
    api.error('renewal.failed', { error: 'x', consecutiveFailures: 9 }); // no longer followed
    expect(await value('certkeeper_certificate_consecutive_failures', { name: 'unit-api' })).toBe(0);
  });
});

describe('certkeeper_certificate_ready_status', () => {
  it('is cert-manager style (the current condition 1, the other 0), judged at scrape time against the clock', async () => {
    let now = Date.parse('2026-03-02T00:00:00Z');
    const readiness = new ReadinessTracker(() => now);
    const log = createLogger({ stream: new PassThrough(), pretty: false });
    const unfollow = readiness.follow(log);
    const stop = reportReadiness(() => readiness.conditions());
    log.info('pass.started', { runId: 'r1', certificates: ['unit-ready'] });
    log.child({ runId: 'r1', certificate: 'unit-ready' }).info('renewal.decided', {
      action: 'none',
      checks: ['UpToDate'],
      reasons: [],
      notAfter: '2026-03-02T00:01:00.000Z',
      emergencyAt: '2026-03-02T00:00:57.000Z',
      consecutiveFailures: 0,
    });
    log.info('pass.finished', { runId: 'r1', failed: 0 });
    expect(await value('certkeeper_certificate_ready_status', { name: 'unit-ready', condition: 'True' })).toBe(1);
    expect(await value('certkeeper_certificate_ready_status', { name: 'unit-ready', condition: 'False' })).toBe(0);
    now += 60_000; // expired, without any event
    expect(await value('certkeeper_certificate_ready_status', { name: 'unit-ready', condition: 'True' })).toBe(0);
    expect(await value('certkeeper_certificate_ready_status', { name: 'unit-ready', condition: 'False' })).toBe(1);
    stop();
    unfollow();
    expect(await value('certkeeper_certificate_ready_status', { name: 'unit-ready', condition: 'False' })).toBeUndefined();
  });

  it('a pass that finds a certificate not served counts it as failing', async () => {
    const log = createLogger({ stream: new PassThrough(), pretty: false });
    const stop = followAuditEvents(log);
    log.child({ certificate: 'unit-served' }).error('deploy.not_served', { error: 'serves 01', consecutiveFailures: 2 });
    expect(await value('certkeeper_certificate_consecutive_failures', { name: 'unit-served' })).toBe(2);
    stop();
  });
});

describe('request labels', () => {
  it('ACME endpoints without IDs', () => {
    expect(acmeEndpoint('https://acme-v02.example.net/acme/authz/v3/123456789012')).toBe('/acme/authz/v3');
    expect(acmeEndpoint('https://acme-v02.example.net/acme/new-order')).toBe('/acme/new-order');
    expect(acmeEndpoint('https://127.0.0.1:14000/authZ/c2N8a5J0rE1WoAyfh5g2wzYwS1zqB0kP2cIo')).toBe('/authZ');
    expect(acmeEndpoint('https://127.0.0.1:14000/finalize-order/abcdefghij1234567890xyz')).toBe('/finalize-order');
    expect(acmeEndpoint('not a url')).toBe('unknown');
  });

  it('AWS throttling is told apart from other errors', () => {
    expect(awsOutcome(Object.assign(new Error('slow down'), { name: 'PriorRequestNotComplete' }))).toBe('throttled');
    expect(awsOutcome({ name: 'Whatever', $metadata: { httpStatusCode: 429 } })).toBe('throttled');
    expect(awsOutcome(Object.assign(new Error('no'), { name: 'AccessDeniedException' }))).toBe('error');
  });
});
