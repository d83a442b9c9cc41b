import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ProxiedCall } from './fault-proxy.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli } from './output-log.js';

/**
 * A renewal's overall deadline: a CA that answers every request at once but never finishes validating
 * (each authorization poll says `pending`) hits no request timeout; the renewal's deadline ends it,
 * removes its challenge record, releases its lock and says how long it had and where it was.
 */

let rel: ReliabilityStack;
let path: string;
const NAME = 'slow';

// The deadline the config below gives: 2 × insync (1 s) + propagation (1 s) + 20 × acme.requestTimeoutSeconds
// (1 s) + 10 × aws.requestTimeoutSeconds (2 s); no verify endpoint, so no served-certificate wait.
const DEADLINE_S = 2 * 1 + 1 + 20 * 1 + 10 * 2;

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('deadline.example');
  path = writeConfig(rel, 'deadline.config.mjs', {
    acme: { requestTimeoutSeconds: 1 },
    aws: { region: 'us-east-1', requestTimeoutSeconds: 2 },
    route53: { insyncTimeoutSeconds: 1, propagation: { timeoutSeconds: 1 } },
    certificates: [{ name: NAME, domains: ['slow.deadline.example'], acm: [{ region: 'us-east-1' }] }],
  });
});

afterEach(() => {
  rel.acme.clear();
});

afterAll(async () => {
  await rel?.stop();
});

const renew = () => runCli(['renew', '--force', '--ignore-rate-limits', '--config', path, NAME], rel.env);

/** Authorization polls after the challenge was answered: the real answer, said to be still pending. */
function stillPending(): (call: ProxiedCall) => boolean {
  let answered = false;
  return (call) => {
    if (call.action === 'chalZ') answered = true;
    return answered && call.action === 'authZ';
  };
}

describe('the renewal deadline', () => {
  it('a CA that never finishes validating: cancelled at the deadline, naming the step, its record removed, the lock released', async () => {
    rel.acme.add({
      match: stillPending(),
      fault: {
        rewrite: (answer) => {
          const authz = JSON.parse(answer.body.toString('utf8')) as { status: string; challenges: { status: string }[] };
          authz.status = 'pending';
          for (const challenge of authz.challenges) challenge.status = 'processing';
          return { ...answer, body: Buffer.from(JSON.stringify(authz)) };
        },
      },
    });
    const started = Date.now();
    const run = await renew();
    const tookMs = Date.now() - started;
    expect(run.code, run.stderr).toBe(1);
    const failed = eventsNamed(run.events, 'renewal.failed', NAME);
    expect(failed, run.stderr).toHaveLength(1);
    expect(String(failed[0]!.error)).toMatch(new RegExp(`^timed out after ${DEADLINE_S} s while waiting for the CA to validate the challenges \\(the renewal's deadline`));
    // Ended by the deadline, not by something shorter, and not long after it.
    expect(tookMs).toBeGreaterThan(DEADLINE_S * 1000);
    expect(tookMs).toBeLessThan((DEADLINE_S + 20) * 1000);
    expect(eventsNamed(run.events, 'dns.challenge.cleaned', NAME)).toHaveLength(1);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
    expect(eventsNamed(run.events, 'acme.order.finalized')).toEqual([]);

    rel.acme.clear();
    const next = await renew();
    expect(next.code, next.stderr).toBe(0);
    expect(eventsNamed(next.events, 'renewal.succeeded', NAME)).toHaveLength(1);
  });
});
