import { describe, expect, it } from 'vitest';
import { judgeLock, overdueLockError, type LockDocument, type Vantage } from '../../src/store/lock-holder.js';
import { parseStartTime, readStartTime } from '../../src/store/process-identity.js';

/** Judging an existing lock (pure), and reading a process's start time from /proc. */

const NOW = Date.parse('2026-03-01T12:00:00.000Z');
const LEASE_MS = 120_000;
const BOOT = 'e7ec0261-2586-48fb-9a27-032a2759bafb';

function here(processes: Record<number, string | null> = {}, overrides: Partial<Vantage> = {}): Vantage {
  return {
    now: NOW,
    host: 'web-1',
    bootId: BOOT,
    leaseMs: LEASE_MS,
    // PID → its start time; absent: no such process; null: running, start time unreadable.
    probe: (pid) => (pid in processes ? { running: true, ...(processes[pid] !== null && { startTime: processes[pid]! }) } : { running: false }),
    ...overrides,
  };
}

function lock(fields: { pid?: number; host?: string; bootId?: string; startTime?: string; heartbeatSecondsAgo?: number; since?: string } = {}): LockDocument {
  const heartbeat = NOW - (fields.heartbeatSecondsAgo ?? 10) * 1000;
  const pid = fields.pid ?? 1;
  return {
    holder: { id: `${fields.host ?? 'web-1'}:${pid}:abcd`, pid, host: fields.host ?? 'web-1', bootId: fields.bootId ?? BOOT, startTime: fields.startTime ?? '5000' },
    pid,
    since: fields.since ?? new Date(heartbeat - 60_000).toISOString(),
    heartbeatAt: new Date(heartbeat).toISOString(),
    expiresAt: new Date(heartbeat + LEASE_MS).toISOString(),
  };
}

describe('judgeLock', () => {
  it('a lock whose process runs with the recorded start time, on this host and boot, is live', () => {
    const verdict = judgeLock(lock({ pid: 4242, startTime: '5000' }), here({ 4242: '5000' }));
    expect(verdict).toMatchObject({ live: true, why: expect.stringMatching(/^held by process 4242 running on this host/) });
    expect(verdict.expiresAt).toBe(NOW - 10_000 + LEASE_MS);
  });

  it('PID 1 again, but another process (a restarted container): PID reused', () => {
    expect(judgeLock(lock({ pid: 1, startTime: '5000' }), here({ 1: '91234' }))).toMatchObject({
      live: false,
      why: expect.stringMatching(/^PID reused by another process: 1 now started at tick 91234, the holder at tick 5000/),
    });
  });

  it('the same host after a reboot: another boot, whatever runs under that PID now', () => {
    expect(judgeLock(lock({ pid: 1, bootId: 'old-boot' }), here({ 1: '5000' }))).toMatchObject({ live: false, why: expect.stringMatching(/^another boot/) });
  });

  it('no process with that PID: process gone', () => {
    expect(judgeLock(lock({ pid: 777 }), here({}))).toMatchObject({ live: false, why: 'process gone: no process 777 runs on this host' });
  });

  it('an expired heartbeat is stale even when the process seems to run (it stopped renewing)', () => {
    expect(judgeLock(lock({ pid: 4242, heartbeatSecondsAgo: 121 }), here({ 4242: '5000' }))).toMatchObject({
      live: false,
      why: expect.stringMatching(/^heartbeat expired: not renewed since /),
    });
  });

  it('another host: judged by its heartbeat only (its process cannot be checked from here)', () => {
    const fresh = judgeLock(lock({ host: 'web-2', pid: 99999, bootId: 'other', startTime: '1' }), here({}));
    expect(fresh).toMatchObject({ live: true, why: expect.stringMatching(/^held by another host \(web-2\): its process cannot be checked from here/) });
    expect(judgeLock(lock({ host: 'web-2', heartbeatSecondsAgo: 130 }), here({}))).toMatchObject({ live: false, why: expect.stringMatching(/^heartbeat expired/) });
  });

  it('without /proc (off Linux, or hidden): a running PID counts, the heartbeat still bounds it', () => {
    const bare = lock({ pid: 4242 });
    delete bare.holder.bootId;
    delete bare.holder.startTime;
    expect(judgeLock(bare, here({ 4242: null }, { bootId: undefined })).live).toBe(true);
    expect(judgeLock(lock({ pid: 4242, startTime: '5000' }), here({ 4242: null })).live).toBe(true);
  });

  it('an expiry further ahead than one lease was written by a wrong clock: not honoured', () => {
    const future = { ...lock({ pid: 4242 }), expiresAt: new Date(NOW + 365 * 86_400_000).toISOString() };
    expect(judgeLock(future, here({ 4242: '5000' }))).toMatchObject({
      live: false,
      why: expect.stringMatching(/^heartbeat expired: its expiry .* lies further ahead than one lease/),
    });
  });

  it('an older lock (pid and since only) is judged by pid and host, and expires one lease after since', () => {
    const since = new Date(NOW - 60_000).toISOString();
    expect(judgeLock({ pid: 4242, since }, here({ 4242: '1' }))).toMatchObject({ live: true, expiresAt: NOW + 60_000 });
    expect(judgeLock({ pid: 4242, since }, here({}))).toMatchObject({ live: false, why: expect.stringMatching(/^process gone/) });
    expect(judgeLock({ pid: 4242, since, holder: { id: 'web-9:4242:aa', pid: 4242, host: 'web-9' } }, here({})).live).toBe(true);
    expect(judgeLock({ pid: 4242, since: new Date(NOW - 121_000).toISOString() }, here({ 4242: '1' }))).toMatchObject({
      live: false,
      why: expect.stringMatching(/^heartbeat expired: a lock without heartbeat/),
    });
  });
});

describe('overdueLockError', () => {
  const held = { holder: { id: 'web-1:4242:abcd', pid: 4242, host: 'web-1' }, since: new Date(NOW - 2_000_000).toISOString(), live: true };

  it('a live lock older than a renewal may take names its holder, host, pid, since when, and what to do', () => {
    const error = overdueLockError(held, 1_000_000, NOW);
    expect(error).toContain('for 2000 s, longer than a renewal may take (1000 s): web-1:4242:abcd (host web-1, pid 4242) since ');
    expect(error).toContain('stop it');
  });

  it('a younger lock, or a stale one (taken over anyway), is not an error', () => {
    expect(overdueLockError(held, 3_000_000, NOW)).toBeUndefined();
    expect(overdueLockError({ ...held, live: false }, 1_000_000, NOW)).toBeUndefined();
  });
});

describe('start time from /proc/PID/stat', () => {
  it('is field 22, counted after the last ")" (a command name may hold spaces and parentheses)', () => {
    const tail = 'S 1 1 1 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 123456 10000 200 18446744073709551615';
    expect(parseStartTime(`4242 (node) ${tail}`)).toBe('123456');
    expect(parseStartTime(`4242 (my (odd) name) x) ${tail}`)).toBe('123456');
    expect(parseStartTime('4242 (node) S 1 2')).toBeUndefined();
    expect(parseStartTime('garbage')).toBeUndefined();
  });

  it('reads this process and tells another apart', () => {
    const self = readStartTime('self');
    expect(self).toMatch(/^\d+$/);
    expect(readStartTime(process.pid)).toBe(self);
    expect(readStartTime(1)).not.toBe(self);
    expect(readStartTime(2 ** 22 + 12345)).toBeUndefined();
  });
});
