import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeListenersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsNamed, runCli, watchCli, type CliResult, type WatchedCli } from './output-log.js';
import type { ProxiedCall } from './fault-proxy.js';
import {
  issuedWithoutChallenge,
  servedListener,
  servedSerial,
  startReliabilityStack,
  taggedCertificates,
  writeConfig,
  type ReliabilityStack,
  type ServedListener,
} from './harness.js';

/**
 * Crash at every step: the real `certkeeper renew` is SIGKILLed at each step of a renewal in turn. The
 * process is held *at* the step by a fault proxy that holds one specific call (and never forwards it),
 * after the audit event that precedes it; then it is killed, run again, and must converge.
 *
 * One certificate, two regions, three listeners (two in us-east-1). Each crash point switches the key
 * type (ecdsa-p256 ↔ ecdsa-p384; the load-balancer double cannot serve RSA behind its ECDSA fallback), so every renewal is the full path: order, TXT, finalize, import under a
 * new ARN in each region, move every listener, verify served, retire the old certificates.
 */

interface CrashPoint {
  step: string;
  /** The audit event (and how many of it) that precedes the held call. */
  after: { event: string; count?: number };
  /** Which proxy holds, and which call. */
  hold: { on: 'acme' | 'aws'; match: (call: ProxiedCall, world: World) => boolean };
  /** What the next run must do: order again (nothing usable was deployed yet) or finish what is there without an order. */
  next: { action: 'renew' | 'redeploy'; orders: 0 | 1 };
}

interface World {
  listeners: ServedListener[];
}

const listenerArnOf = (call: ProxiedCall) => new URLSearchParams(call.text).get('ListenerArn');

// 'while waiting for INSYNC': the GetChange poll is held, so the process is killed with its change not yet INSYNC.
const CRASH_POINTS: CrashPoint[] = [
  {
    step: 'after the order',
    after: { event: 'acme.order.created' },
    next: { action: 'renew', orders: 1 },
    hold: { on: 'acme', match: (call) => call.action === 'authZ' },
  },
  {
    step: 'after the TXT write (waiting for INSYNC)',
    after: { event: 'dns.challenge.presented' },
    next: { action: 'renew', orders: 1 },
    hold: { on: 'aws', match: (call) => call.action === 'GetChange' },
  },
  {
    step: 'during challenge clean-up',
    after: { event: 'acme.challenges.valid' },
    next: { action: 'renew', orders: 1 },
    hold: { on: 'aws', match: (call) => call.action === 'ChangeResourceRecordSets' && call.text.includes('clean up') },
  },
  // From finalize on, the issued certificate and its key are kept (stateDir/issued): the next run deploys it, no new order.
  {
    step: 'after finalize',
    after: { event: 'acme.order.finalized' },
    next: { action: 'renew', orders: 0 },
    hold: { on: 'aws', match: (call) => call.action === 'ImportCertificate' },
  },
  {
    step: 'after the ACM import',
    after: { event: 'acm.imported' },
    // eu-west-1 has no certificate of the new key type yet: the kept one is imported there, and us-east-1
    // re-imports it into the ARN the killed run made. Single region: redeploy (e2e).
    next: { action: 'renew', orders: 0 },
    hold: { on: 'aws', match: (call, world) => call.action === 'ModifyListener' && listenerArnOf(call) === world.listeners[0]!.listenerArn },
  },
  {
    step: 'between two listeners',
    after: { event: 'listener.updated', count: 1 },
    next: { action: 'renew', orders: 0 },
    hold: { on: 'aws', match: (call, world) => call.action === 'ModifyListener' && listenerArnOf(call) === world.listeners[1]!.listenerArn },
  },
  {
    step: 'between two regions',
    after: { event: 'listener.updated', count: 2 },
    next: { action: 'renew', orders: 0 },
    hold: { on: 'aws', match: (call) => call.action === 'ImportCertificate' && call.region === 'eu-west-1' },
  },
  {
    step: 'while retiring the old certificate',
    after: { event: 'deploy.verified' },
    next: { action: 'redeploy', orders: 0 },
    hold: { on: 'aws', match: (call) => call.action === 'DeleteCertificate' },
  },
];

type KeyType = 'ecdsa-p256' | 'ecdsa-p384';
const NAME = 'crashy';
// Nine renewals of one name within minutes: certkeeper's own duplicate-certificate guard (5 in 7 days) would hold them back.
const RENEW = ['renew', '--ignore-rate-limits', '--config'];
const DOMAIN = 'www.crash.example';
let rel: ReliabilityStack;
const world: World = { listeners: [] };
/** Every time certkeeper deleted a certificate or moved a listener while a listener still named what went: should stay empty. */
const violations: string[] = [];

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('crash.example');
  world.listeners = await Promise.all([servedListener(rel, 'alb-crash-a'), servedListener(rel, 'alb-crash-b'), servedListener(rel, 'alb-crash-eu', 'eu-west-1')]);
  // The invariant, checked at the very moment of each DeleteCertificate: no listener still names it.
  rel.awsProxy.add({
    match: (call) => call.action === 'DeleteCertificate',
    fault: { delayMs: 0 },
    before: async (call) => {
      const arn = (JSON.parse(call.text) as { CertificateArn: string }).CertificateArn;
      for (const listener of world.listeners) {
        const named = await rel.aws.elbv2(listener.region).send(new DescribeListenersCommand({ ListenerArns: [listener.listenerArn] }));
        if (named.Listeners?.[0]?.Certificates?.some((c) => c.CertificateArn === arn)) violations.push(`${arn} deleted while ${listener.listenerArn} still named it`);
      }
    },
  });
});

afterAll(async () => {
  await Promise.all(world.listeners.map((listener) => listener.serving.stop()));
  await rel?.stop();
});

function config(keyType: string): string {
  return writeConfig(rel, `${keyType}.config.mjs`, {
    certificates: [
      {
        name: NAME,
        domains: [DOMAIN],
        keyType,
        acm: [
          { region: 'us-east-1', listeners: [{ arn: world.listeners[0]!.listenerArn }, { arn: world.listeners[1]!.listenerArn }] },
          { region: 'eu-west-1', listeners: [{ arn: world.listeners[2]!.listenerArn }] },
        ],
        verify: world.listeners.map((listener) => ({ host: '127.0.0.1', port: listener.serving.port, sni: DOMAIN })),
        verifyTimeoutSeconds: 60,
      },
    ],
  });
}

/** The end state a renewal must reach: the new certificate in each region, on each listener, served, nothing left over. */
async function expectConverged(run: CliResult, keyType: KeyType): Promise<void> {
  expect(run.code, run.stderr).toBe(0);
  const deployed = await Promise.all(
    ['us-east-1', 'eu-west-1'].map(async (region) => {
      const tagged = await taggedCertificates(rel.aws, region, NAME);
      // Neither duplicated nor orphaned: exactly one certificate of this name per region.
      expect(tagged, `tagged certificates in ${region}`).toHaveLength(1);
      const detail = await rel.aws.describeAcm(tagged[0]!);
      expect(detail.KeyAlgorithm).toBe(keyType === 'ecdsa-p384' ? 'EC_secp384r1' : 'EC_prime256v1');
      return { region, arn: tagged[0]!, serial: hexSerial(detail.Serial!) };
    }),
  );
  expect(deployed[0]!.serial).toBe(deployed[1]!.serial);
  for (const listener of world.listeners) {
    const expected = deployed.find((entry) => entry.region === listener.region)!;
    expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBe(expected.arn);
    expect(await servedSerial(listener.serving.port, DOMAIN)).toBe(expected.serial);
  }
  expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
}

/** ACM gives colon-separated hex, moto a decimal integer. */
function hexSerial(serial: string): string {
  return (/^\d+$/.test(serial) ? BigInt(serial).toString(16) : serial.replace(/:/g, '')).toUpperCase().replace(/^0+/, '');
}

describe('crash at every step', () => {
  let keyType: KeyType = 'ecdsa-p256';

  beforeAll(async () => {
    const first = await runCli([...RENEW, config(keyType)], rel.env);
    await expectConverged(first, keyType);
  });

  it.each(CRASH_POINTS)('SIGKILL $step: the next run converges', async (point) => {
    const proxy = point.hold.on === 'acme' ? rel.acme : rel.awsProxy;
    let before: string[];
    let path: string;
    let crashed: WatchedCli;
    // At most three tries: a try Pebble answered with an authorization already valid renews without the step
    // (issuedWithoutChallenge); that renewal is the next try's starting point.
    for (let attempt = 1; ; attempt++) {
      before = await Promise.all(world.listeners.map((listener) => servedSerial(listener.serving.port, DOMAIN)));
      keyType = keyType === 'ecdsa-p256' ? 'ecdsa-p384' : 'ecdsa-p256';
      path = config(keyType);
      const removeHold = proxy.add({ match: (call) => point.hold.match(call, world), fault: { hold: true }, times: 1 });
      crashed = watchCli([...RENEW, path], rel.env);
      try {
        await crashed.waitFor(point.after.event, point.after.count ?? 1, 120_000);
        break;
      } catch (error) {
        removeHold();
        crashed.child.kill('SIGKILL'); // a run still going after the wait is not taken for an early exit
        await crashed.done;
        if (attempt < 3 && issuedWithoutChallenge(crashed.events)) continue;
        throw error;
      }
    }
    const held = await proxy.held(undefined, 120_000);
    expect(point.hold.match(held, world)).toBe(true);
    crashed.child.kill('SIGKILL');
    await crashed.done;
    proxy.dropHeld();
    const killedRun = crashed.events;

    // Killed mid-renewal, every listener still serves a certificate of this name: the old one or the new one.
    const newSerial = eventsNamed(killedRun, 'acme.order.finalized')[0]?.serial as string | undefined;
    for (const [index, listener] of world.listeners.entries()) {
      const served = await servedSerial(listener.serving.port, DOMAIN);
      expect([before[index], newSerial?.toUpperCase()]).toContain(served);
    }

    const nextStartedAt = Date.now();
    const next = await runCli([...RENEW, path], rel.env);
    await expectConverged(next, keyType);
    // At most one order more than an uninterrupted renewal, and none once the CA has issued (during the
    // challenge clean-up, finalize runs alongside: whether it got that far is in the killed run's events).
    const orders = eventsNamed(killedRun, 'renewal.issued_kept').length > 0 ? 0 : point.next.orders;
    expect(eventsNamed(next.events, 'renewal.decided', NAME)[0]).toMatchObject({ action: point.next.action });
    expect(eventsNamed(next.events, 'acme.order.created')).toHaveLength(orders);
    expect(
      rel.acme.calls.filter((call) => call.action === 'order-plz' && call.at >= nextStartedAt),
      'newOrder calls at Pebble',
    ).toHaveLength(orders);
    // Deployed and verified: no kept certificate (nor its key) is left behind.
    expect(existsSync(join(rel.workDir, 'state', 'issued', `${NAME}.json`))).toBe(false);
    expect(violations).toEqual([]);
  });
});
