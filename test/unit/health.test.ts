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

  it('stays alive when a certificate failed, or a pass failed as a whole: a restart would fix neither', () => {
    const { health, send } = tracker();
    send('daemon.started', { cron: '0 * * * *', jitterSeconds: 0 });
    send('renewal.failed', { runId: 'r1', certificate: 'api', error: 'boom' });
    send('pass.finished', { runId: 'r1', failed: 1 });
    expect(health.report()).toMatchObject({ healthy: true, status: 'ok', lastPass: { failed: 1, failedCertificates: ['api'] } });
    send('pass.failed', { error: 'disk full' });
    expect(health.report()).toMatchObject({ healthy: true, status: 'ok', lastPass: { error: 'disk full' } });
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

describe('/readyz', () => {
  const DAY = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();

  /** A look at `api` as the pass logs it: deployed until `notAfterMs`, emergency 1/20 of 90 days before. */
  function decided(send: ReturnType<typeof tracker>['send'], runId: string, notAfterMs: number, more: Record<string, unknown> = {}) {
    send('renewal.decided', {
      runId,
      certificate: 'api',
      action: 'none',
      checks: ['UpToDate'],
      reasons: ['fine'],
      notAfter: iso(notAfterMs),
      emergencyAt: iso(notAfterMs - 4.5 * DAY),
      consecutiveFailures: 0,
      ...more,
    });
  }

  it('is not ready until a pass has finished, then ready while every certificate is valid and served', () => {
    const { health, send } = tracker();
    send('pass.started', { runId: 'r1', certificates: ['api', 'www'] });
    expect(health.readiness.report()).toMatchObject({ ready: false, status: 'starting' });
    decided(send, 'r1', Date.parse('2026-05-01T00:00:00Z'));
    send('renewal.decided', {
      runId: 'r1',
      certificate: 'www',
      action: 'none',
      checks: ['UpToDate'],
      reasons: [],
      notAfter: '2026-06-01T00:00:00.000Z',
      emergencyAt: '2026-05-28T00:00:00.000Z',
      consecutiveFailures: 0,
    });
    send('pass.finished', { runId: 'r1', failed: 0 });
    expect(health.readiness.report()).toEqual({
      ready: true,
      status: 'ready',
      certificates: [
        { name: 'api', ready: true, notAfter: '2026-05-01T00:00:00.000Z', emergencyAt: '2026-04-26T12:00:00.000Z' },
        { name: 'www', ready: true, notAfter: '2026-06-01T00:00:00.000Z', emergencyAt: '2026-05-28T00:00:00.000Z' },
      ],
    });
  });

  it('turns false by the clock alone when a certificate expires while nothing happens (a stuck agent, a CA that never answers)', () => {
    const start = Date.parse('2026-03-02T00:00:00Z');
    const { health, send, advance } = tracker(start);
    send('pass.started', { runId: 'r1', certificates: ['api'] });
    decided(send, 'r1', start + DAY);
    send('pass.finished', { runId: 'r1', failed: 0 });
    expect(health.readiness.report().ready).toBe(true);
    advance(DAY);
    expect(health.readiness.report()).toMatchObject({ ready: false, status: 'not-ready', reasons: ['api: expired at 2026-03-03T00:00:00.000Z'] });
  });

  it('stays ready when a renewal fails early in the window, turns false when it is still failing at the emergency point, true again on recovery', () => {
    const start = Date.parse('2026-03-02T00:00:00Z');
    const { health, send, advance } = tracker(start);
    send('pass.started', { runId: 'r1', certificates: ['api'] });
    decided(send, 'r1', start + 30 * DAY, { action: 'renew', checks: ['InRenewalWindow'] });
    send('renewal.failed', { runId: 'r1', certificate: 'api', error: 'CA unreachable', consecutiveFailures: 1 });
    send('pass.finished', { runId: 'r1', failed: 1 });
    expect(health.readiness.report().ready).toBe(true);
    advance(25.5 * DAY);
    expect(health.readiness.report()).toMatchObject({ ready: false, reasons: ['api: failing in its emergency period (since 2026-03-27T12:00:00.000Z): CA unreachable'] });
    send('renewal.succeeded', { runId: 'r2', certificate: 'api', serial: '0b', notAfter: iso(start + 120 * DAY) });
    expect(health.readiness.report().ready).toBe(true);
  });

  it('is false for a certificate held past its emergency point, deployed but not served, or with a clock problem, until a look says otherwise', () => {
    const { health, send } = tracker();
    const notAfter = Date.parse('2026-04-01T00:00:00Z');
    send('pass.started', { runId: 'r1', certificates: ['api'] });
    decided(send, 'r1', notAfter, {
      checks: ['InRenewalWindow', 'DuplicateCertificateLimit', 'HeldPastEmergency'],
      reasons: ['due', 'duplicate limit', 'held past its emergency point (…): failing; certkeeper orders anyway at that point'],
    });
    send('pass.finished', { runId: 'r1', failed: 1 });
    expect(health.readiness.report().reasons).toEqual([
      'api: held past its emergency point (…): failing; certkeeper orders anyway at that point (checks: InRenewalWindow, DuplicateCertificateLimit, HeldPastEmergency)',
    ]);
    decided(send, 'r2', notAfter);
    send('deploy.not_served', { runId: 'r2', certificate: 'api', error: 'deployed but not served: 127.0.0.1:443 serves serial 01', consecutiveFailures: 1 });
    expect(health.readiness.report().reasons).toEqual(['api: deployed but not served: 127.0.0.1:443 serves serial 01']);
    decided(send, 'r3', notAfter, { checks: ['Expired', 'ClockSkew'], reasons: ['expired', 'clock problem: the clock is ahead'] });
    expect(health.readiness.report().reasons).toEqual(['api: clock problem: the clock is ahead']);
    decided(send, 'r4', notAfter);
    expect(health.readiness.report().ready).toBe(true);
  });

  it('is false after a pass that failed as a whole, until a pass finishes', () => {
    const { health, send } = tracker();
    send('pass.failed', { error: 'store unreadable' });
    expect(health.readiness.report()).toMatchObject({ ready: false, status: 'not-ready', reasons: ['the last pass failed as a whole: store unreadable'] });
    send('pass.finished', { runId: 'r2', failed: 0 });
    expect(health.readiness.report()).toMatchObject({ ready: true });
  });

  it('learns of earlier failures from the record, and forgets them when the record is reset (recovered)', () => {
    const start = Date.parse('2026-03-02T00:00:00Z');
    const { health, send, advance } = tracker(start);
    send('pass.started', { runId: 'r1', certificates: ['api'] });
    decided(send, 'r1', start + 4 * DAY, { action: 'none', checks: ['Emergency', 'Backoff'], consecutiveFailures: 3 });
    send('pass.finished', { runId: 'r1', failed: 0 });
    expect(health.readiness.report()).toMatchObject({
      ready: false,
      reasons: ['api: failing in its emergency period (since 2026-03-01T12:00:00.000Z): 3 failed attempt(s) in a row'],
    });
    advance(1000);
    decided(send, 'r2', start + 90 * DAY, { consecutiveFailures: 0 });
    send('certificate.recovered', { runId: 'r2', certificate: 'api', previousFailures: 3 });
    expect(health.readiness.report().ready).toBe(true);
  });
});
