import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChallengeJournal } from '../../src/dns/challenge-journal.js';
import { FileStateStore } from '../../src/store/file-state-store.js';
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

  it('leases with lock files: one holder while it lives, taken over (with an audit event) when its process is gone', async () => {
    const dir = join(root, 'leases');
    const log = recordingLogger();
    const [a, b] = [new FileStateStore(dir), new FileStateStore(dir)];
    const lease = await a.tryLease('web', log);
    expect(lease).toBeDefined();
    expect(await b.tryLease('web', log)).toBeUndefined();
    await lease!.release();
    const pid = deadPid();
    writeFileSync(join(dir, 'locks', 'web.lock'), JSON.stringify({ pid, since: '2026-01-01T00:00:00.000Z' }));
    const taken = await b.tryLease('web', log);
    expect(taken?.holder.id).toBe(b.holder.id);
    expect(log.events).toEqual([expect.objectContaining({ event: 'store.lease.taken_over', store: 'file', previousHolder: `pid ${pid}`, holder: b.holder.id })]);
    await taken!.release();
  });

  it('journal entries of a live process are not orphans; those of a gone one are', async () => {
    const dir = join(root, 'journal');
    const store = new FileStateStore(dir);
    const entry = (pid: number) => ({ pid, runId: 'r', certificate: 'c', records: [], at: '2026-01-01T00:00:00.000Z' });
    const gone = deadPid();
    store.files.write('challenges/00000000-0000-4000-8000-00000000000a-dead.json', entry(gone));
    store.files.write('challenges/00000000-0000-4000-8000-00000000000b-live.json', entry(process.ppid));
    const orphans = await new ChallengeJournal(store).orphans();
    expect(orphans.map((orphan) => orphan.entry.pid)).toEqual([gone]);
    await orphans[0]!.forget();
    expect(readdirSync(join(dir, 'challenges'))).toEqual(['00000000-0000-4000-8000-00000000000b-live.json']);
  });
});
