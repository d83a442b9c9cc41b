import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChallengeJournal } from '../../src/dns/challenge-journal.js';
import { FileStateStore } from '../../src/store/file-state-store.js';
import type { Holder } from '../../src/store/state-store.js';
import { recordingLogger } from './recording-logger.js';

const root = mkdtempSync(join(tmpdir(), 'certkeeper-file-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/** A pid that belonged to a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  return Number(child.stdout.trim());
}

describe('file store', () => {
  it('keeps the stateDir layout: directories 0700, files 0600', async () => {
    const dir = join(root, 'layout');
    const store = new FileStateStore(dir);
    await store.update('cert#api', () => ({ consecutiveFailures: 1 }));
    await store.update('ratelimits#abc', () => ({ orders: [] }));
    await new ChallengeJournal(store).note('00000000-0000-4000-8000-000000000001', 'api', []);
    expect(readdirSync(dir).sort()).toEqual(['certificates', 'challenges', 'ratelimits']);
    expect(mode(dir)).toBe('700');
    for (const sub of ['certificates', 'challenges', 'ratelimits']) {
      expect(mode(join(dir, sub))).toBe('700');
      for (const file of readdirSync(join(dir, sub))) expect(mode(join(dir, sub, file))).toBe('600');
    }
    expect(await store.get('cert#api')).toEqual({ consecutiveFailures: 1 });
    const lease = await store.tryLease('api', recordingLogger());
    expect(mode(join(dir, 'locks'))).toBe('700');
    expect(mode(join(dir, 'locks', 'api.lock'))).toBe('600');
    await lease!.release();
  });

  it('a lock file proves its holder and is created whole: one holder while it lives, released on release', async () => {
    const dir = join(root, 'leases');
    const log = recordingLogger();
    const [a, b] = [new FileStateStore(dir), new FileStateStore(dir)];
    const lease = await a.tryLease('web', log);
    expect(lease).toBeDefined();
    const lock = JSON.parse(readFileSync(join(dir, 'locks', 'web.lock'), 'utf8'));
    expect(lock).toEqual({
      holder: a.holder,
      pid: process.pid,
      since: expect.any(String),
      heartbeatAt: lock.since,
      expiresAt: new Date(Date.parse(lock.since) + 120_000).toISOString(),
    });
    expect(a.holder).toMatchObject({
      pid: process.pid,
      host: hostname(),
      bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(),
      startTime: expect.stringMatching(/^\d+$/),
    });
    expect(await b.tryLease('web', log)).toBeUndefined();
    expect(await b.readLease('web')).toMatchObject({
      holder: { id: a.holder.id },
      since: lock.since,
      live: true,
      why: expect.stringMatching(/^held by process \d+ running on this host/),
    });
    await lease!.release();
    expect(readdirSync(join(dir, 'locks'))).toEqual([]);
    expect(await b.readLease('web')).toBeUndefined();
    expect(log.events).toEqual([]);
  });

  it('takes over a lock whose process is gone (an older lock without heartbeat) or whose PID now belongs to another process', async () => {
    const dir = join(root, 'takeover');
    const log = recordingLogger();
    const store = new FileStateStore(dir);
    const pid = deadPid();
    store.files.ensureDir('locks');
    writeFileSync(join(dir, 'locks', 'old.lock'), JSON.stringify({ pid, since: new Date().toISOString() }));
    const taken = await store.tryLease('old', log);
    expect(taken?.holder.id).toBe(store.holder.id);
    await taken!.release();
    // This very process's PID, recorded with another start time: the PID 1 of a restarted container.
    const reused = { ...store.holder, id: 'previous-incarnation', startTime: '1' };
    writeFileSync(join(dir, 'locks', 'reused.lock'), JSON.stringify(lockOf(reused)));
    expect((await store.readLease('reused'))?.live).toBe(false);
    const again = await store.tryLease('reused', log);
    expect(again).toBeDefined();
    await again!.release();
    expect(log.events).toEqual([
      expect.objectContaining({
        event: 'store.lease.taken_over',
        store: 'file',
        previousHolder: `pid ${pid}`,
        holder: store.holder.id,
        why: expect.stringMatching(/^process gone/),
      }),
      expect.objectContaining({
        event: 'store.lease.taken_over',
        previousHolder: 'previous-incarnation',
        previousPid: process.pid,
        why: expect.stringMatching(/^PID reused by another process/),
      }),
    ]);
  });

  it('a fresh lock of another host is respected until its heartbeat lapses', async () => {
    const dir = join(root, 'other-host');
    const store = new FileStateStore(dir);
    store.files.ensureDir('locks');
    const remote = { id: 'web-2:1:ff', pid: 1, host: 'web-2', bootId: 'other-boot', startTime: '1' };
    writeFileSync(join(dir, 'locks', 'shared.lock'), JSON.stringify(lockOf(remote)));
    expect(await store.tryLease('shared', recordingLogger())).toBeUndefined();
    writeFileSync(join(dir, 'locks', 'shared.lock'), JSON.stringify(lockOf(remote, Date.now() - 121_000)));
    const log = recordingLogger();
    const lease = await store.tryLease('shared', log);
    expect(lease).toBeDefined();
    expect(log.events[0]).toMatchObject({ event: 'store.lease.taken_over', previousHost: 'web-2', why: expect.stringMatching(/^heartbeat expired/) });
    await lease!.release();
  });

  it('the holder renews its heartbeat; a lease taken over from under it aborts its signal (store.lease.lost)', async () => {
    const dir = join(root, 'heartbeat');
    const log = recordingLogger();
    const store = new FileStateStore(dir, { leaseMs: 3_000, heartbeatEveryMs: 100 });
    const lease = await store.tryLease('beat', log);
    const path = join(dir, 'locks', 'beat.lock');
    const first = JSON.parse(readFileSync(path, 'utf8'));
    await until(() => JSON.parse(readFileSync(path, 'utf8')).heartbeatAt !== first.heartbeatAt);
    const renewed = JSON.parse(readFileSync(path, 'utf8'));
    expect(renewed).toMatchObject({ holder: { id: store.holder.id }, since: first.since });
    expect(Date.parse(renewed.expiresAt) - Date.parse(renewed.heartbeatAt)).toBe(3_000);
    expect(mode(path)).toBe('600');
    // Another process took it over (as it would after this one stalled past its lease).
    writeFileSync(path, JSON.stringify(lockOf({ id: 'usurper', pid: process.ppid, host: hostname() })));
    await until(() => lease!.signal.aborted);
    expect(log.events).toEqual([expect.objectContaining({ event: 'store.lease.lost', store: 'file', error: 'another process holds it now (it was taken over)' })]);
    await lease!.release();
    // Not ours any more: release leaves the other holder's lock alone.
    expect(JSON.parse(readFileSync(path, 'utf8')).holder.id).toBe('usurper');
  });

  it('journal entries are orphans unless their holder still holds a live lock on the certificate', async () => {
    const dir = join(root, 'journal');
    const store = new FileStateStore(dir);
    const other = new FileStateStore(dir);
    const entry = (holder: Holder, certificate: string) => ({ holder, pid: holder.pid, runId: 'r', certificate, records: [], at: '2026-01-01T00:00:00.000Z' });
    const working = await other.tryLease('working', recordingLogger());
    store.files.write('challenges/00000000-0000-4000-8000-00000000000a-working.json', entry(other.holder, 'working'));
    // PID 1 here, but its start time is not this one's: a killed container's entry after a restart.
    const killed = { id: 'killed-container', pid: 1, host: hostname(), bootId: store.holder.bootId, startTime: '1' };
    writeFileSync(join(dir, 'locks', 'killed.lock'), JSON.stringify(lockOf(killed)));
    store.files.write('challenges/00000000-0000-4000-8000-00000000000b-killed.json', entry(killed, 'killed'));
    const gone = deadPid();
    store.files.write('challenges/00000000-0000-4000-8000-00000000000c-gone.json', { pid: gone, runId: 'r', certificate: 'gone', records: [], at: '2026-01-01T00:00:00.000Z' });
    // A live process that no longer holds the lease: its run is over (it failed to clean up and released).
    store.files.write('challenges/00000000-0000-4000-8000-00000000000d-released.json', entry(other.holder, 'released'));
    const orphans = await new ChallengeJournal(store).orphans();
    expect(orphans.map((orphan) => orphan.entry.certificate).sort()).toEqual(['gone', 'killed', 'released']);
    for (const orphan of orphans) await orphan.forget();
    expect(readdirSync(join(dir, 'challenges'))).toEqual(['00000000-0000-4000-8000-00000000000a-working.json']);
    await working!.release();
  });
});

/** A lock file as a holder would have written it, its heartbeat at `heartbeat`. */
function lockOf(holder: Holder, heartbeat = Date.now()) {
  return {
    holder,
    pid: holder.pid,
    since: new Date(heartbeat - 1000).toISOString(),
    heartbeatAt: new Date(heartbeat).toISOString(),
    expiresAt: new Date(heartbeat + 120_000).toISOString(),
  };
}

/** Resolves once `condition` holds (polled), failing after 10 s. */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
