import { describe, expect, it } from 'vitest';
import { HealthTracker } from '../../src/telemetry/health.js';
import { cronIntervalMs } from '../../src/telemetry/schedule-interval.js';

const HOUR = 3_600_000;

function tracker(start = Date.parse('2026-03-02T00:00:00Z')) {
  let now = start;
  const health = new HealthTracker(() => now);
  return { health, advance: (ms: number) => (now += ms), send: (event: string, fields: Record<string, unknown> = {}) => health.observe({ level: 'info', event, fields }) };
}

describe('schedule interval', () => {
  it('is the longest gap between firings, in the schedule time zone', () => {
    const from = new Date('2026-03-02T12:00:00Z'); // a Monday
    expect(cronIntervalMs('17 3,15 * * *', { timezone: 'UTC', from })).toBe(12 * HOUR);
    expect(cronIntervalMs('*/10 * * * * *', { timezone: 'UTC', from })).toBe(10_000);
    // Weekdays only: Friday 03:00 to Monday 03:00.
    expect(cronIntervalMs('0 3 * * 1-5', { timezone: 'UTC', from })).toBe(72 * HOUR);
  });
});

describe('/healthz', () => {
  it('is healthy while starting, then after a pass without failures', () => {
    const { health, send } = tracker();
    send('daemon.started', { cron: '0 */6 * * *', timezone: 'UTC', jitterSeconds: 300 });
    expect(health.report()).toMatchObject({ healthy: true, status: 'starting', maxPassAgeSeconds: 2 * 6 * 3600 + 300 });
    send('pass.started', { runId: 'r1' });
    send('pass.finished', { runId: 'r1', failed: 0 });
    expect(health.report()).toMatchObject({ healthy: true, status: 'ok', lastPass: { runId: 'r1', failed: 0, failedCertificates: [] } });
  });

  it('fails after a pass in which a certificate failed, naming it, and recovers after a good pass', () => {
    const { health, send } = tracker();
    send('daemon.started', { cron: '0 * * * *', jitterSeconds: 0 });
    send('renewal.failed', { runId: 'r1', certificate: 'api', error: 'boom' });
    send('pass.finished', { runId: 'r1', failed: 1 });
    expect(health.report()).toMatchObject({ healthy: false, status: 'failing', reason: '1 certificate(s) failed in the last pass: api' });
    send('pass.finished', { runId: 'r2', failed: 0 });
    expect(health.report()).toMatchObject({ healthy: true, status: 'ok' });
  });

  it('fails when the pass itself failed', () => {
    const { health, send } = tracker();
    send('pass.failed', { error: 'disk full' });
    expect(health.report()).toMatchObject({ healthy: false, status: 'failing', reason: 'the last pass failed: disk full' });
  });

  it('is stale when no pass started or finished within 2 × the interval (+ jitter)', () => {
    const { health, send, advance } = tracker();
    send('daemon.started', { cron: '0 * * * *', timezone: 'UTC', jitterSeconds: 60 });
    advance(2 * HOUR + 60_000);
    expect(health.report().healthy).toBe(true);
    advance(1);
    expect(health.report()).toMatchObject({ healthy: false, status: 'stale', reason: expect.stringMatching(/^no pass has finished since the start/) });
    send('pass.started', { runId: 'r1' });
    send('pass.finished', { runId: 'r1', failed: 0 });
    expect(health.report().healthy).toBe(true);
    advance(HOUR);
    send('pass.started', { runId: 'r2' }); // a long pass under way counts as activity
    advance(2 * HOUR);
    expect(health.report().healthy).toBe(true);
    advance(60_001);
    expect(health.report()).toMatchObject({ healthy: false, status: 'stale' });
  });
});
