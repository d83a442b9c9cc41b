import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures } from '../stack/aws-fixtures.js';
import { startLetsEncryptDouble, type LetsEncryptDouble } from '../stack/letsencrypt-double.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from '../e2e/config-file.js';
import { eventsNamed, runCli, type CliResult } from '../e2e/cli.js';

/**
 * Rate-limit guards follow the CA they protect: none for a CA that is not Let's Encrypt (here Pebble,
 * issuing 60-second certificates), Let's Encrypt's own on its directory URL (a faithful double of its
 * host in front of the same Pebble); and a hold that would outlast the emergency point is failing and
 * ends there, when the order is tried anyway.
 */

const LIFETIME_S = 60;
let stack: Stack;
let letsEncrypt: LetsEncryptDouble;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ pebble: { validitySeconds: LIFETIME_S } });
  letsEncrypt = await startLetsEncryptDouble(stack.pebble);
  await awsFixtures(stack.motoEndpoint).createHostedZone('limits.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-limits-'));
});

afterAll(async () => {
  await letsEncrypt?.stop();
  await stack?.stop();
});

function config(name: string, directoryUrl: string): string {
  return writeConfigFile(join(workDir, `${name}.config.mjs`), directoryUrl, {
    stateDir: join(workDir, `state-${name}`),
    certificates: [{ name, domains: [`${name}.limits.example`], acm: [{ region: 'us-east-1' }] }],
  });
}

function renewed(run: CliResult, name: string): void {
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  expect(eventsNamed(run.events, 'renewal.succeeded', name)).toHaveLength(1);
}

describe('rate-limit guards follow the CA', () => {
  it("a CA that is not Let's Encrypt gets no built-in guard: seven certificates for the same names within a minute", async () => {
    const path = config('pebble', stack.directoryUrl);
    renewed(await runCli(['renew', '--config', path], stack.env), 'pebble');
    for (let i = 2; i <= 7; i++) {
      const run = await runCli(['renew', '--force', '--config', path], stack.env);
      renewed(run, 'pebble');
      expect(eventsNamed(run.events, 'renewal.decided')[0]!.checks).toEqual(['Forced']);
    }
  });

  it("on Let's Encrypt's directory the duplicate guard holds the sixth certificate; past the emergency point that is failing, and at it the order is tried", async () => {
    const path = config('le', letsEncrypt.directoryUrl);
    const env = { ...stack.env, ...letsEncrypt.env };
    renewed(await runCli(['renew', '--config', path], env), 'le');
    for (let i = 2; i <= 5; i++) renewed(await runCli(['renew', '--force', '--config', path], env), 'le');
    // Everything went through the double: the directory at Let's Encrypt's path, five orders.
    expect(letsEncrypt.requests.filter((r) => r.method === 'GET' && r.path === '/directory').length).toBeGreaterThanOrEqual(1);
    expect(letsEncrypt.requests.filter((r) => r.method === 'POST' && r.path === '/order-plz')).toHaveLength(5);

    // The sixth: held until a token comes back (34 hours), far past the emergency point of a 60-second certificate.
    const held = await runCli(['renew', '--force', '--config', path], env);
    expect(held.code).toBe(1);
    const decided = eventsNamed(held.events, 'renewal.decided', 'le')[0]!;
    expect(decided).toMatchObject({ action: 'none', checks: ['Forced', 'DuplicateCertificateLimit', 'HeldPastEmergency'], renewAt: decided.emergencyAt });
    expect(String((decided.reasons as string[])[1])).toMatch(
      /^certificates for exactly these names used up the duplicate limit \(Let's Encrypt: 5 per 7 days, one more every 34 hours\)/,
    );
    expect(eventsNamed(held.events, 'renewal.held_past_emergency', 'le')[0]).toMatchObject({ until: decided.emergencyAt, emergencyAt: decided.emergencyAt });
    expect(eventsNamed(held.events, 'acme.order.created')).toEqual([]);
    expect(held.stdout).toMatch(/^le: FAILED: .*held past its emergency point/m);

    // At the emergency point the guard yields: the CA decides (and issues).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(decided.emergencyAt as string) - Date.now())));
    const tried = await runCli(['renew', '--config', path], env);
    renewed(tried, 'le');
    expect(eventsNamed(tried.events, 'renewal.decided', 'le')[0]!.checks).toEqual(expect.arrayContaining(['DuplicateCertificateLimit', 'EmergencyOverride']));
    expect(letsEncrypt.requests.filter((r) => r.method === 'POST' && r.path === '/order-plz')).toHaveLength(6);
  });
});
