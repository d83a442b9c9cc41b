import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERTKEEPER_BIN, WatchedCli } from '../e2e/cli.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, keepOutput, runCli, watchCli, type CliResult } from './output-log.js';

/**
 * A stale lock never blocks a certificate for good (issue 12, item 1). The real `certkeeper renew` meets
 * lock files as a killed process (in a container or not) leaves them: naming PID 1 or a PID now used by
 * another process, taken before a reboot, on another host, or with a lapsed heartbeat. Each renewal goes
 * ahead within one lease length (two minutes) with `store.lease.taken_over` saying why, while a lock of a
 * live certkeeper is respected. And a real kill: `renew --force` SIGKILLed inside a PID namespace (node is
 * PID 1 there, as in a container without init) while it waits on the CA with its TXT record published;
 * the next run, PID 1 in a new namespace, takes the lock over at once and removes the record.
 */

const LEASE_MS = 120_000;
const ZONE = 'lock.example';
const NAMES = ['pid-one', 'own-pid', 'other-boot', 'expired', 'other-host', 'live', 'wedged', 'killed'] as const;

let rel: ReliabilityStack;
let config: string;
let stateDir: string;
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
const ownStartTime = startTimeOf(process.pid);

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone(ZONE);
  stateDir = join(rel.workDir, 'state');
  config = writeConfig(rel, 'locks.config.mjs', {
    stateDir,
    certificates: NAMES.map((name) => ({ name, domains: [`${name}.${ZONE}`], acm: [{ region: 'us-east-1' }] })),
  });
});

afterAll(async () => {
  await rel?.stop();
});

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat
    .slice(stat.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/)[19]!;
}

/** Writes the lock a holder left: heartbeat `heartbeatAgoMs` ago, lapsing `expiresInMs` after now. */
function leaveLock(
  name: string,
  holder: { pid: number; host?: string; bootId?: string; startTime?: string },
  times: { sinceAgoMs?: number; heartbeatAgoMs?: number; expiresInMs?: number } = {},
): void {
  const now = Date.now();
  const heartbeatAt = now - (times.heartbeatAgoMs ?? 5_000);
  const lock = {
    holder: {
      id: `${holder.host ?? hostname()}:${holder.pid}:0ld0ld00`,
      pid: holder.pid,
      host: holder.host ?? hostname(),
      bootId: holder.bootId ?? bootId,
      ...(holder.startTime && { startTime: holder.startTime }),
    },
    pid: holder.pid,
    since: new Date(now - (times.sinceAgoMs ?? 30_000)).toISOString(),
    heartbeatAt: new Date(heartbeatAt).toISOString(),
    expiresAt: new Date(times.expiresInMs !== undefined ? now + times.expiresInMs : heartbeatAt + LEASE_MS).toISOString(),
  };
  mkdirSync(join(stateDir, 'locks'), { recursive: true, mode: 0o700 });
  writeFileSync(lockFile(name), JSON.stringify(lock), { mode: 0o600 });
}

function lockFile(name: string): string {
  return join(stateDir, 'locks', `${name}.lock`);
}

function expectRenewedAfterTakeover(run: CliResult, name: string, why: RegExp, startedAt: number): void {
  expect(run.code, run.stderr).toBe(0);
  expect(eventsNamed(run.events, 'renewal.succeeded', name)).toHaveLength(1);
  const [takeover] = eventsNamed(run.events, 'store.lease.taken_over', name);
  expect(takeover, 'store.lease.taken_over').toMatchObject({
    level: 'warn',
    store: 'file',
    lease: `locks/${name}.lock`,
    previousHolder: expect.stringContaining(':0ld0ld00'),
    why: expect.stringMatching(why),
  });
  expect(Date.now() - startedAt).toBeLessThan(LEASE_MS);
  expect(existsSync(lockFile(name)), 'released after the renewal').toBe(false);
}

describe('a stale lock is taken over and the renewal goes ahead', () => {
  it('a lock naming PID 1 on this host and boot, recorded with another process start time (a restarted container)', async () => {
    leaveLock('pid-one', { pid: 1, startTime: ownStartTime });
    const started = Date.now();
    expectRenewedAfterTakeover(await runCli(['renew', 'pid-one', '--config', config], rel.env), 'pid-one', /^PID reused by another process: 1 /, started);
  });

  it("a lock naming this test process's PID, alive, but recorded with another start time", async () => {
    leaveLock('own-pid', { pid: process.pid, startTime: String(Number(ownStartTime) + 1) });
    const started = Date.now();
    expectRenewedAfterTakeover(await runCli(['renew', 'own-pid', '--config', config], rel.env), 'own-pid', new RegExp(`^PID reused by another process: ${process.pid} `), started);
  });

  it('a lock taken before a reboot (another boot id), whatever runs under its PID now', async () => {
    leaveLock('other-boot', { pid: process.pid, startTime: ownStartTime, bootId: '00000000-1111-2222-3333-444444444444' });
    const started = Date.now();
    expectRenewedAfterTakeover(await runCli(['renew', 'other-boot', '--config', config], rel.env), 'other-boot', /^another boot/, started);
  });

  it('a lock whose heartbeat lapsed, although the process it names runs (it stopped renewing)', async () => {
    leaveLock('expired', { pid: process.pid, startTime: ownStartTime }, { sinceAgoMs: 400_000, heartbeatAgoMs: 300_000 });
    const started = Date.now();
    expectRenewedAfterTakeover(await runCli(['renew', 'expired', '--config', config], rel.env), 'expired', /^heartbeat expired/, started);
  });

  it('a lock of another host is respected while its heartbeat runs (status shows it), then taken over once it lapsed', async () => {
    // Another container on the same volume: its process cannot be checked from here.
    const remote = { pid: 1, host: 'other-container', bootId: 'another-kernel', startTime: '77' };
    leaveLock('other-host', remote);
    const expiresAt = JSON.parse(readFileSync(lockFile('other-host'), 'utf8')).expiresAt as string;

    const busy = await runCli(['renew', 'other-host', '--json', '--config', config], rel.env);
    expect(busy.code, busy.stderr).toBe(1);
    expect(eventsNamed(busy.events, 'renewal.skipped', 'other-host')[0]).toMatchObject({
      why: 'another certkeeper process is renewing this certificate',
      lock: { holder: 'other-container:1:0ld0ld00', host: 'other-container', pid: 1, expiresAt },
    });
    expect(eventsNamed(busy.events, 'store.lease.taken_over')).toEqual([]);
    // The daemon would come back when the lock lapses.
    expect(JSON.parse(busy.stdout)).toEqual([expect.objectContaining({ name: 'other-host', result: 'busy', nextAssessmentAt: expiresAt })]);

    const status = await runCli(['status', 'other-host', '--json', '--config', config], rel.env);
    const [row] = JSON.parse(status.stdout) as { lock: Record<string, unknown> }[];
    expect(row!.lock).toMatchObject({
      holder: 'other-container:1:0ld0ld00',
      host: 'other-container',
      pid: 1,
      expiresAt,
      live: true,
      why: expect.stringMatching(/^held by another host \(other-container\)/),
    });
    expect(row!.lock.ageSeconds).toBeGreaterThanOrEqual(30);
    const text = await runCli(['status', 'other-host', '--config', config], rel.env);
    keepOutput('status other-host', text.stdout);
    expect(text.stdout).toMatch(/^ {4}locked by other-container:1:0ld0ld00 for \d+ s \(live: held by another host/m);

    // Its last heartbeat, then none: a short expiry in the file keeps the test short.
    leaveLock('other-host', remote, { expiresInMs: 1_500 });
    const lapsesAt = Date.parse(JSON.parse(readFileSync(lockFile('other-host'), 'utf8')).expiresAt as string);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, lapsesAt - Date.now() + 200)));
    expectRenewedAfterTakeover(await runCli(['renew', 'other-host', '--config', config], rel.env), 'other-host', /^heartbeat expired/, lapsesAt);
  });
});

describe('a live lock is respected', () => {
  it('a second process stands aside (busy, exit 1) while a real certkeeper renews; the first still finishes', async () => {
    rel.acme.add({ match: (call) => call.action === 'finalize-order', fault: { hold: true }, times: 1 });
    const first = watchCli(['renew', 'live', '--config', config], rel.env);
    await first.waitFor('acme.challenges.valid', 1, 120_000);
    await rel.acme.held('finalize-order', 120_000);
    const lock = JSON.parse(readFileSync(lockFile('live'), 'utf8'));
    expect(lock).toMatchObject({ pid: first.child.pid, holder: { pid: first.child.pid, host: hostname(), bootId, startTime: startTimeOf(first.child.pid!) } });

    const second = await runCli(['renew', 'live', '--config', config], rel.env);
    expect(second.code, second.stderr).toBe(1);
    expect(eventsNamed(second.events, 'renewal.skipped', 'live')[0]).toMatchObject({ lock: { holder: lock.holder.id, pid: first.child.pid } });
    expect(eventsNamed(second.events, 'store.lease.taken_over')).toEqual([]);
    expect(eventsNamed(second.events, 'dns.challenge.orphans_cleaned')).toEqual([]);
    expect(eventsNamed(second.events, 'acme.order.created')).toEqual([]);

    rel.acme.releaseHeld();
    const done = await first.done;
    expect(done.code, done.stderr).toBe(0);
    expect(eventsNamed(done.events, 'renewal.succeeded', 'live')).toHaveLength(1);
    expect(eventsNamed(done.events, 'store.lease.lost')).toEqual([]);
  });

  it('a live lock held longer than a renewal may take fails the certificate (naming the holder), not counted as our attempt', async () => {
    // This test process: same host and boot, running, the right start time, a fresh heartbeat; but taken two hours ago.
    leaveLock('wedged', { pid: process.pid, startTime: ownStartTime }, { sinceAgoMs: 2 * 3_600_000 });
    const run = await runCli(['renew', 'wedged', '--json', '--config', config], rel.env);
    expect(run.code, run.stderr).toBe(1);
    const [failed] = eventsNamed(run.events, 'renewal.failed', 'wedged');
    expect(failed).toMatchObject({ level: 'error', lock: { holder: `${hostname()}:${process.pid}:0ld0ld00`, host: hostname(), pid: process.pid } });
    expect(failed!.error).toMatch(
      new RegExp(
        `held this certificate's lock for 72\\d\\d s, longer than a renewal may take \\(\\d+ s\\): ${hostname()}:${process.pid}:0ld0ld00 \\(host ${hostname()}, pid ${process.pid}\\) since .*stop it`,
      ),
    );
    expect(failed!.consecutiveFailures).toBeUndefined();
    expect(eventsNamed(run.events, 'renewal.skipped')).toEqual([]);
    expect(eventsNamed(run.events, 'pass.finished')[0]).toMatchObject({ failed: 1, busy: 0 });
    expect(JSON.parse(run.stdout)).toEqual([expect.objectContaining({ name: 'wedged', result: 'failed' })]);
    // Not our attempt: the record's failure count stays as it was.
    expect(existsSync(join(stateDir, 'certificates', 'wedged.json'))).toBe(false);
    expect(existsSync(lockFile('wedged')), 'the live lock is left alone').toBe(true);
  });
});

describe('a real kill in a PID namespace (node is PID 1, as in a container without init)', () => {
  /** `certkeeper renew --force NAME` as PID 1 of a new PID namespace; SIGKILL to unshare kills the whole namespace. */
  function inPidNamespace(name: string): WatchedCli {
    const child = spawn('unshare', ['--pid', '--fork', '--mount-proc', '--kill-child', process.execPath, CERTKEEPER_BIN, 'renew', '--force', name, '--config', config], {
      env: { ...process.env, ...rel.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WatchedCli(child);
  }

  it('SIGKILLed while the CA holds its challenge answer; the next PID 1 takes the lock over at once and removes the TXT record', async () => {
    rel.acme.add({ match: (call) => call.action === 'chalZ', fault: { hold: true }, times: 1 });
    const killed = inPidNamespace('killed');
    await killed.waitFor('dns.challenge.presented', 1, 120_000);
    await rel.acme.held('chalZ', 120_000);
    const started = await killed.waitFor('renewal.started');
    killed.child.kill('SIGKILL');
    const result = await killed.done;
    rel.acme.dropHeld();
    keepOutput('killed in a PID namespace', result.stderr);
    expect(result.code).toBe(null);
    // What it left: a lock naming PID 1, and its challenge record in Route 53.
    const left = JSON.parse(readFileSync(lockFile('killed'), 'utf8'));
    expect(left).toMatchObject({ pid: 1, holder: { pid: 1, host: hostname(), bootId } });
    expect((await rel.aws.listAcmeChallengeRecords()).map((set) => set.name)).toEqual([expect.stringContaining(`_acme-challenge.killed.${ZONE}`)]);
    expect(started.runId).toBeDefined();

    const again = inPidNamespace('killed');
    const startedAt = Date.now();
    const next = await again.done;
    keepOutput('again in a PID namespace', next.stderr);
    const { events } = next;
    expect(next.code, next.stderr).toBe(0);
    expect(eventsNamed(events, 'dns.challenge.orphans_cleaned')).toEqual([expect.objectContaining({ certificate: 'killed', previousRunId: started.runId })]);
    expect(eventsNamed(events, 'store.lease.taken_over', 'killed')).toEqual([
      expect.objectContaining({ previousHolder: left.holder.id, previousPid: 1, why: expect.stringMatching(/^PID reused by another process: 1 /) }),
    ]);
    expect(eventsNamed(events, 'renewal.succeeded', 'killed')).toHaveLength(1);
    expect(Date.now() - startedAt).toBeLessThan(LEASE_MS);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    expect(existsSync(lockFile('killed'))).toBe(false);
  });
});
