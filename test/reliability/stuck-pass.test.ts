import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli, watchCli, type AuditEvent } from './output-log.js';

/**
 * A renewal stuck on the CA holds back nothing else: `stuck` waits on a CA that never finishes validating
 * its name (until the renewal's deadline), while `other`, issued 15 s later, comes due. The daemon runs
 * `other`'s renewal in a pass of its own meanwhile, in time; before, one pass at a time meant `other` waited
 * for `stuck`'s deadline and lapsed. 60-second certificates, a once-a-year cron: only wake-ups renew.
 */

const LIFETIME_S = 60;
const STUCK = 'stuck.pass.example';
const OTHER = 'other.pass.example';
let rel: ReliabilityStack;
let path: string;

beforeAll(async () => {
  rel = await startReliabilityStack({ pebble: { validitySeconds: LIFETIME_S } });
  await rel.aws.createHostedZone('pass.example');
  path = writeConfig(rel, 'stuck-pass.config.mjs', {
    // The renewal's deadline: 2 × 1 + 1 + 20 × 1 + 10 × 2 = 43 s, longer than `other` has once it is due.
    acme: { requestTimeoutSeconds: 1 },
    aws: { region: 'us-east-1', requestTimeoutSeconds: 2 },
    route53: { insyncTimeoutSeconds: 1, propagation: { timeoutSeconds: 1 } },
    schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 },
    certificates: [
      { name: 'stuck', domains: [STUCK], acm: [{ region: 'us-east-1' }] },
      { name: 'other', domains: [OTHER], acm: [{ region: 'us-east-1' }] },
    ],
  });
});

afterAll(async () => {
  await rel?.stop();
});

const at = (event: AuditEvent | undefined) => (event ? Date.parse(event.time) : NaN);

describe('a pass stuck on one certificate', () => {
  it('does not hold back another certificate that comes due meanwhile', async () => {
    const first = await runCli(['renew', 'stuck', '--config', path], rel.env);
    expect(first.code, first.stderr.slice(-2000)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 15_000));
    // From now on the CA never finishes validating `stuck`'s name (every poll of its authorization says pending).
    // Pebble reuses an already valid authorization about 1 time in 100 (see issuedWithoutChallenge): pretending
    // it pending makes certkeeper answer a challenge Pebble has closed, so that refusal is rewritten too, into the
    // "processing" a CA that is still validating would answer.
    const stuckChallengeUrls = new Map<string, string>();
    rel.acme.add({
      match: (call) => call.action === 'authZ',
      fault: {
        rewrite: (answer) => {
          const authz = JSON.parse(answer.body.toString('utf8')) as { status: string; identifier: { value: string }; challenges: { status: string; url: string }[] };
          if (authz.identifier.value !== STUCK || authz.status === 'pending') return answer;
          authz.status = 'pending';
          for (const challenge of authz.challenges) {
            challenge.status = 'processing';
            stuckChallengeUrls.set(new URL(challenge.url).pathname, challenge.url);
          }
          return { ...answer, body: Buffer.from(JSON.stringify(authz)) };
        },
      },
    });
    rel.acme.add({
      match: (call) => call.action === 'chalZ' && stuckChallengeUrls.has(call.path),
      fault: {
        rewrite: (answer, call) => {
          if (answer.status < 400) return answer;
          const challenge = { type: 'dns-01', url: stuckChallengeUrls.get(call.path), status: 'processing', token: 'reused' };
          return { status: 200, headers: { ...answer.headers, 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(challenge)) };
        },
      },
    });
    const daemon = watchCli(['run', '--config', path], rel.env);
    try {
      // The start pass issues `other`; `stuck` comes due next and its pass gets stuck; then `other` comes due.
      const stuckFailed = await daemon.waitFor('renewal.failed', 1, 120_000);
      expect(stuckFailed.certificate).toBe('stuck');
      expect(String(stuckFailed.error)).toMatch(/^timed out after 43 s while waiting for the CA to validate the challenges/);
      const otherRenewals = eventsNamed(daemon.events, 'renewal.succeeded', 'other');
      // Issued by the start pass, then renewed while `stuck` was stuck: before its pass ended, and before `other` expired.
      expect(otherRenewals.length, JSON.stringify(eventsNamed(daemon.events, 'pass.started'))).toBeGreaterThanOrEqual(2);
      const issued = otherRenewals[0]!;
      const renewedWhileStuck = otherRenewals[1]!;
      expect(at(renewedWhileStuck)).toBeLessThan(at(stuckFailed));
      expect(at(renewedWhileStuck)).toBeLessThan(Date.parse(issued.notAfter as string));
      const stuckStarted = eventsNamed(daemon.events, 'renewal.started', 'stuck').at(-1);
      expect(at(renewedWhileStuck)).toBeGreaterThan(at(stuckStarted));
      expect(eventsNamed(daemon.events, 'pass.skipped')).toEqual([]);
    } finally {
      daemon.child.kill('SIGTERM');
      const { code, stderr } = await daemon.done;
      expect(code, stderr.slice(-2000)).toBe(0);
    }
    rel.acme.clear();
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
