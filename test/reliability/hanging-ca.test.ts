import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProxiedCall } from './fault-proxy.js';
import { needingChallenge, startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, exitWithin, runCli, watchCli, type CliResult } from './output-log.js';

/**
 * A CA that accepts the connection and never answers (the fault proxy's `hold`), at each step of the
 * ACME conversation in turn. Each request to the CA is bounded by `acme.requestTimeoutSeconds` (2 s
 * here), so `renew --force` ends: exit 1, the error names the URL that did not answer, no challenge record
 * is left and the lock is released. SIGTERM stops `run` within its bound while a request hangs, and a
 * daemon whose renewal hangs keeps running its passes.
 */

let rel: ReliabilityStack;
let path: string;
const NAME = 'hung';
const REQUEST_TIMEOUT_S = 2;
// A run with one request held: start-up (~2 s), the request timeout, the clean-up; generous for a loaded machine.
const HELD_RUN_BOUND_MS = 30_000;
// `run` and `renew` stop within 20 s of SIGTERM (docs/reliability.md).
const STOP_BOUND_MS = 20_000;

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('hang.example');
  path = config('renew', { requestTimeoutSeconds: REQUEST_TIMEOUT_S });
});

afterEach(() => {
  rel.acme.dropHeld();
  rel.acme.clear();
  rel.awsProxy.dropHeld();
  rel.awsProxy.clear();
});

afterAll(async () => {
  await rel?.stop();
});

function config(file: string, acme: Record<string, unknown>, extra: Record<string, unknown> = {}, name = NAME): string {
  return writeConfig(rel, `${file}.config.mjs`, {
    acme,
    ...extra,
    certificates: [{ name, domains: [`${name}.hang.example`], acm: [{ region: 'us-east-1' }] }],
  });
}

/** A daemon that only runs the pass at start (and, with `cron`, its schedule) for a certificate never deployed: due at once. */
function daemonConfig(name: string, acme: Record<string, unknown>, cron = '0 0 1 1 *'): string {
  return config(name, acme, { schedule: { cron, jitterSeconds: 0 } }, name);
}

// Many renewals of one name within minutes: certkeeper's own duplicate-certificate guard would hold them back.
const renew = (configPath = path) => runCli(['renew', '--force', '--ignore-rate-limits', '--config', configPath, NAME], rel.env);

/** Pebble's paths: the first segment names the ACME resource. */
function heldOnce(action: string): (call: ProxiedCall) => boolean {
  let held = false;
  return (call) => {
    if (held || call.action !== action) return false;
    held = true;
    return true;
  };
}

/** The first poll of an authorization after a challenge was answered. */
function authorizationPoll(): (call: ProxiedCall) => boolean {
  let answered = false;
  let held = false;
  return (call) => {
    if (call.action === 'chalZ') answered = true;
    if (held || !answered || call.action !== 'authZ') return false;
    held = true;
    return true;
  };
}

interface HeldStep {
  step: string;
  match: () => (call: ProxiedCall) => boolean;
  /** The path of the URL the error must name. */
  path: RegExp;
}

const STEPS: HeldStep[] = [
  // Every directory read: the first look (ARI) reads it too, and acme-client again for the account.
  { step: 'directory', match: () => (call) => call.action === 'dir', path: /GET https:\/\/127\.0\.0\.1:\d+\/dir / },
  { step: 'newNonce', match: () => heldOnce('nonce-plz'), path: /HEAD https:\/\/127\.0\.0\.1:\d+\/nonce-plz / },
  { step: 'newAccount', match: () => heldOnce('sign-me-up'), path: /POST https:\/\/127\.0\.0\.1:\d+\/sign-me-up / },
  { step: 'newOrder', match: () => heldOnce('order-plz'), path: /POST https:\/\/127\.0\.0\.1:\d+\/order-plz / },
  { step: 'authorization', match: () => heldOnce('authZ'), path: /POST https:\/\/127\.0\.0\.1:\d+\/authZ\/\S+ / },
  { step: 'challenge answer', match: () => heldOnce('chalZ'), path: /POST https:\/\/127\.0\.0\.1:\d+\/chalZ\/\S+ / },
  { step: 'authorization polling', match: authorizationPoll, path: /POST https:\/\/127\.0\.0\.1:\d+\/authZ\/\S+ / },
  { step: 'finalize', match: () => heldOnce('finalize-order'), path: /POST https:\/\/127\.0\.0\.1:\d+\/finalize-order\/\S+ / },
  // Pebble answers finalize with the order `processing`: the order is polled until it is `valid`.
  { step: 'order polling', match: () => heldOnce('my-order'), path: /POST https:\/\/127\.0\.0\.1:\d+\/my-order\/\S+ / },
  { step: 'certificate download', match: () => heldOnce('certZ'), path: /POST https:\/\/127\.0\.0\.1:\d+\/certZ\/\S+ / },
];

async function timed(run: Promise<CliResult>): Promise<CliResult & { ms: number }> {
  const started = Date.now();
  const result = await run;
  return { ...result, ms: Date.now() - started };
}

describe('a CA that never answers', () => {
  it.each(STEPS)('at $step: renew ends with exit 1 naming the URL, no record left, the lock released', async ({ match, path: url }) => {
    const before = rel.acme.calls.length;
    rel.acme.add({ match: match(), fault: { hold: true } });
    const run = await timed(renew());
    expect(run.code, run.stderr).toBe(1);
    expect(run.ms).toBeLessThan(HELD_RUN_BOUND_MS);
    // The request was really held, not answered.
    expect(rel.acme.calls.slice(before).some((call) => call.fault === 'hold')).toBe(true);
    const failed = eventsNamed(run.events, 'renewal.failed', NAME);
    expect(failed, run.stderr).toHaveLength(1);
    expect(String(failed[0]!.error)).toMatch(new RegExp(`the ACME server did not answer ${url.source}within ${REQUEST_TIMEOUT_S} s \\(acme\\.requestTimeoutSeconds\\)`));
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('once the CA answers again, the next renew goes through (no lock left behind)', async () => {
    const run = await renew();
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.succeeded', NAME)).toHaveLength(1);
    expect(eventsNamed(run.events, 'renewal.skipped')).toEqual([]);
  });

  it('SIGTERM to `run` while finalize hangs: exit 0 within the bound, no record left, the next renew goes through', async () => {
    // The default request timeout (30 s): only the signal can end this wait in time.
    const daemonPath = daemonConfig('term', {});
    rel.acme.add({ match: (call) => call.action === 'finalize-order', fault: { hold: true } });
    const daemon = watchCli(['run', '--config', daemonPath], rel.env);
    await rel.acme.held('finalize-order', 120_000);
    const signalled = Date.now();
    daemon.child.kill('SIGTERM');
    const stopped = await exitWithin(daemon, STOP_BOUND_MS + 10_000);
    // Well inside the bound: the orderly shutdown ended it, not the last-resort exit at STOP_BOUND_MS.
    expect(Date.now() - signalled).toBeLessThan(STOP_BOUND_MS - 5_000);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(eventsNamed(stopped.events, 'renewal.cancelled', 'term')).toHaveLength(1);
    expect(eventsNamed(stopped.events, 'daemon.stopped')).toHaveLength(1);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    rel.acme.dropHeld();
    rel.acme.clear();
    const next = await runCli(['renew', '--config', daemonPath], rel.env);
    expect(next.code, next.stderr).toBe(0);
    expect(eventsNamed(next.events, 'renewal.succeeded', 'term')).toHaveLength(1);
  });

  it('SIGTERM to `renew` while finalize hangs: exit 1 within the bound, the renewal cancelled, no record left', async () => {
    // The default request timeout (30 s): only the signal can end this wait in time.
    const slowPath = config('renew-term', {});
    rel.acme.add({ match: (call) => call.action === 'finalize-order', fault: { hold: true } });
    const renewal = watchCli(['renew', '--force', '--ignore-rate-limits', '--config', slowPath, NAME], rel.env);
    await rel.acme.held('finalize-order', 120_000);
    const signalled = Date.now();
    renewal.child.kill('SIGTERM');
    const stopped = await exitWithin(renewal, STOP_BOUND_MS + 10_000);
    expect(Date.now() - signalled).toBeLessThan(STOP_BOUND_MS - 5_000);
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stdout).toMatch(new RegExp(`^${NAME}: cancelled`));
    expect(eventsNamed(stopped.events, 'renewal.cancelled', NAME)).toHaveLength(1);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('a daemon whose renewal hangs on the CA still runs its next passes', async () => {
    // A pass every 4 s; every finalize hangs until its request timeout.
    const daemonPath = daemonConfig('passes', { requestTimeoutSeconds: REQUEST_TIMEOUT_S }, '*/4 * * * * *');
    rel.acme.add({ match: (call) => call.action === 'finalize-order', fault: { hold: true } });
    const daemon = watchCli(['run', '--config', daemonPath], rel.env);
    try {
      const failed = await daemon.waitFor('renewal.failed', 1, 60_000);
      expect(String(failed.error)).toMatch(/did not answer POST \S+\/finalize-order\/\S+ within 2 s/);
      // The pass with the hung renewal ended, and later passes came and ended too.
      await daemon.waitFor('pass.finished', 3, 60_000);
    } finally {
      daemon.child.kill('SIGTERM');
      const stopped = await exitWithin(daemon, STOP_BOUND_MS + 10_000);
      expect(stopped.code, stopped.stderr).toBe(0);
    }
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });
});

describe('other waits that never end', () => {
  it('a Route 53 GetChange that never answers: the INSYNC wait ends at its timeout, saying so, and the record goes', async () => {
    // aws.requestTimeoutSeconds stays at its default (60 s, retried): only the INSYNC timeout can end this soon.
    const insyncPath = config('insync', {}, { route53: { insyncTimeoutSeconds: 2 } });
    rel.awsProxy.add({ match: (call) => call.action === 'GetChange', fault: { hold: true } });
    // The wait follows the challenge's TXT write, which a reused authorization skips.
    const run = await timed(needingChallenge(() => renew(insyncPath)));
    expect(run.code, run.stderr).toBe(1);
    expect(run.ms).toBeLessThan(HELD_RUN_BOUND_MS);
    expect(String(eventsNamed(run.events, 'renewal.failed', NAME)[0]?.error)).toMatch(
      /Route 53 change \S+ in hosted zone \S+ \(hang\.example\) was not reported INSYNC \(GetChange got no answer\) after 2 s \(route53\.insyncTimeoutSeconds\)/,
    );
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('a verify endpoint that accepts TCP and never completes a handshake: the served check ends at verifyTimeoutSeconds', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as { port: number }).port;
      const verifyPath = writeConfig(rel, 'verify.config.mjs', {
        certificates: [
          {
            name: 'verified',
            domains: ['verified.hang.example'],
            acm: [{ region: 'us-east-1' }],
            verify: [{ host: '127.0.0.1', port, sni: 'verified.hang.example' }],
            verifyTimeoutSeconds: 3,
          },
        ],
      });
      const run = await timed(runCli(['renew', '--force', '--ignore-rate-limits', '--config', verifyPath], rel.env));
      expect(run.code, run.stderr).toBe(1);
      // A probe is bounded by what is left of the wait (old: 10 s of idle timeout per probe, whatever was left).
      const failed = String(eventsNamed(run.events, 'renewal.failed', 'verified')[0]?.error);
      expect(failed).toMatch(new RegExp(`deployed but not served: after 3 s, 127\\.0\\.0\\.1:${port} \\(SNI verified\\.hang\\.example\\) no TLS handshake within \\d+ ms`));
      const served = eventsNamed(run.events, 'acm.imported', 'verified')[0]!;
      expect(Date.parse(eventsNamed(run.events, 'renewal.failed', 'verified')[0]!.time) - Date.parse(served.time)).toBeLessThan(8_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});
