import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures } from '../stack/aws-fixtures.js';
import type { AriProxy } from '../stack/ari-proxy.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli, type CliResult } from './cli.js';

/**
 * ACME Renewal Information (RFC 9773), profiles and the CA's rate limits, against the real Pebble with
 * the CA-side test double in front of it (Pebble 2.4.0 has none of them).
 */

const HOUR = 3_600_000;
let stack: Stack;
let ca: AriProxy;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ acmeProxy: { profiles: { classic: 'the usual', shortlived: '6 days' } } });
  ca = stack.acmeProxy!;
  // Let the tests move the window at will: the CA asks to be asked again at once.
  ca.setRetryAfter(0);
  await awsFixtures(stack.motoEndpoint).createHostedZone('ari.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-ari-'));
});

afterAll(async () => {
  await stack?.stop();
});

function config(file: string, certificates: { name: string; domains: string[] }[], acme: Record<string, unknown> = {}, stateDir = 'state'): string {
  return writeConfigFile(join(workDir, `${file}.config.mjs`), stack.directoryUrl, {
    acme,
    stateDir: join(workDir, stateDir),
    certificates: certificates.map((spec) => ({ ...spec, acm: [{ region: 'us-east-1' }] })),
  });
}

interface PlanRow {
  name: string;
  action: string;
  checks: string[];
  reasons: string[];
  renewAt: string | null;
  window: { source: string; start: string; end: string } | null;
  ari: { status: string; start?: string; end?: string; chosenAt?: string; note?: string };
}

async function plan(configPath: string, name: string): Promise<PlanRow> {
  const run = await runCli(['plan', name, '--json', '--config', configPath], stack.env);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as PlanRow[])[0]!;
}

function succeeded(run: CliResult, name: string) {
  expect(run.code, run.stderr).toBe(0);
  const [event] = eventsNamed(run.events, 'renewal.succeeded', name);
  expect(event).toBeDefined();
  return event!;
}

describe('ARI: the CA says when to renew', () => {
  const spec = { name: 'ari', domains: ['www.ari.example'] };
  let configPath: string;
  let certId: string;

  it('follows the suggested window: waits while it is in the future, at a moment kept across passes', async () => {
    configPath = config('ari', [spec]);
    succeeded(await runCli(['renew', '--config', configPath], stack.env), 'ari');
    const first = await plan(configPath, 'ari');
    expect(first).toMatchObject({ action: 'none', window: { source: 'ari' }, ari: { status: 'window' } });
    expect(first.reasons[0]).toContain('(ARI)');
    const chosen = Date.parse(first.ari.chosenAt!);
    expect(chosen).toBeGreaterThanOrEqual(Date.parse(first.ari.start!));
    expect(chosen).toBeLessThanOrEqual(Date.parse(first.ari.end!));
    expect(first.renewAt).toBe(first.ari.chosenAt);
    // Asked again (Retry-After 0): same window, so the same moment, not a new roll of the dice.
    const second = await plan(configPath, 'ari');
    expect(second.ari.chosenAt).toBe(first.ari.chosenAt);
    expect(ca.renewalInfoRequests.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(2);
    certId = ca.renewalInfoRequests[ca.renewalInfoRequests.length - 1]!.certId;
  });

  it('renews when the window is open and the chosen moment has come, sending replaces', async () => {
    const now = Date.now();
    ca.setWindow(certId, { start: new Date(now - HOUR), end: new Date(now + 1_000) });
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const run = await runCli(['renew', '--config', configPath], stack.env);
    succeeded(run, 'ari');
    expect(eventsNamed(run.events, 'renewal.decided')[0]).toMatchObject({ action: 'renew', checks: ['AriWindowOpen'] });
    expect(eventsNamed(run.events, 'acme.order.created')[0]).toMatchObject({ replaces: certId });
    expect(ca.orders[ca.orders.length - 1]).toMatchObject({ replaces: certId, answered: 201 });
  });

  it('renews at once when the CA moves the window into the past (as after a revocation)', async () => {
    const before = await plan(configPath, 'ari');
    expect(before.action).toBe('none');
    const current = ca.renewalInfoRequests[ca.renewalInfoRequests.length - 1]!.certId;
    expect(current).not.toBe(certId);
    ca.setWindow(current, { start: new Date(Date.now() - 2 * HOUR), end: new Date(Date.now() - HOUR), explanationURL: 'https://ca.example/incident' });
    const after = await plan(configPath, 'ari');
    expect(after).toMatchObject({ action: 'renew', checks: ['AriWindowOpen'] });
    expect(after.reasons[0]).toContain('so renew now');
    expect(after.reasons[0]).toContain('https://ca.example/incident');
  });

  it('falls back to the backstop rule when renewalInfo is down, answers 404, or is not offered', async () => {
    const other = config('other', [{ name: 'other', domains: ['other.ari.example'] }]);
    succeeded(await runCli(['renew', '--config', other], stack.env), 'other');
    ca.setRenewalInfoFailure(500);
    const down = await plan(other, 'other');
    expect(down).toMatchObject({ action: 'none', window: { source: 'backstop' }, ari: { status: 'unavailable', note: 'renewalInfo answered HTTP 500' } });
    expect(down.reasons[0]).toContain('(one third of its lifetime left)');
    ca.setRenewalInfoFailure(null);

    // A fresh state directory: the CA does not know this certificate (404) and then offers no ARI at all.
    ca.setRenewalInfoFailure(404);
    const unknown = config('unknown', [{ name: 'other', domains: ['other.ari.example'] }], {}, 'state-404');
    expect((await plan(unknown, 'other')).ari).toMatchObject({ status: 'unavailable', note: 'renewalInfo answered HTTP 404' });
    ca.setRenewalInfoFailure(null);
    ca.setAriOffered(false);
    const notOffered = await runCli(['plan', 'other', '--json', '--config', other], stack.env);
    ca.setAriOffered(true);
    // The directory is read once per process; a new process sees the CA without ARI.
    expect((JSON.parse(notOffered.stdout) as PlanRow[])[0]).toMatchObject({ window: { source: 'backstop' } });
  });
});

describe('ACME profiles', () => {
  it('refuses a profile the CA does not offer, naming those it does', async () => {
    const run = await runCli(['renew', '--config', config('tls', [{ name: 'tls', domains: ['tls.ari.example'] }], { profile: 'tlsserver' })], stack.env);
    expect(run.code).toBe(1);
    expect(eventsNamed(run.events, 'renewal.failed')[0]!.error).toBe('acme.profile "tlsserver" is not offered by the CA; it offers: classic, shortlived');
    expect(eventsNamed(run.events, 'acme.order.created')).toEqual([]);
  });

  it('sends an offered profile in newOrder', async () => {
    const run = await runCli(['renew', '--config', config('short', [{ name: 'short', domains: ['short.ari.example'] }], { profile: 'shortlived' })], stack.env);
    succeeded(run, 'short');
    expect(ca.orders[ca.orders.length - 1]).toMatchObject({ identifiers: ['short.ari.example'], profile: 'shortlived', answered: 201 });
  });
});

describe("the CA's rate limits", () => {
  it('stops at a rateLimited answer without waiting it out, and holds further orders until Retry-After', async () => {
    const configPath = config('limited', [{ name: 'limited', domains: ['limited.ari.example'] }]);
    ca.failNextNewOrders(1, { status: 429, type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently', retryAfterSeconds: 3600 });
    const started = Date.now();
    const run = await runCli(['renew', '--config', configPath], stack.env);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(run.code).toBe(1);
    const limited = eventsNamed(run.events, 'acme.rate_limited')[0]!;
    expect(limited).toMatchObject({ detail: 'too many new orders recently', retryAfterSeconds: 3600 });
    expect(Date.parse(limited.until as string) - Date.now()).toBeGreaterThan(3500_000);
    // Exactly one newOrder reached the CA: no retry of the 429.
    expect(ca.orders.filter((o) => o.identifiers[0] === 'limited.ari.example')).toHaveLength(1);

    const held = await runCli(['renew', '--force', 'limited', '--reason', 'testing the guard', '--config', configPath], stack.env);
    expect(held.code).toBe(1);
    expect(eventsNamed(held.events, 'renewal.decided')[0]).toMatchObject({
      action: 'none',
      checks: ['Forced', 'NotDeployed', 'CaRateLimited'],
      forcedBecause: 'testing the guard',
    });
    expect(eventsNamed(held.events, 'acme.order.created')).toEqual([]);

    succeeded(await runCli(['renew', '--force', '--ignore-rate-limits', 'limited', '--config', configPath], stack.env), 'limited');
  });
});
