import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli, type CliResult } from './cli.js';

/**
 * Time cannot wedge it: certkeeper runs with its clock shifted (a preload offsets Date in the child
 * only, as on a host with a wrong clock) against the real Pebble and moto, then with the clock set
 * right again.
 */

const DAY = 86_400_000;
const PRELOAD = pathToFileURL(fileURLToPath(new URL('../stack/clock-offset-preload.mjs', import.meta.url))).href;
let stack: Stack;
let workDir: string;

beforeAll(async () => {
  // The CA-side double for its rateLimited answers; orders and certificates come from the real Pebble.
  stack = await startStack({ acmeProxy: true });
  await awsFixtures(stack.motoEndpoint).createHostedZone('clock.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-clock-'));
});

afterAll(async () => {
  await stack?.stop();
});

const shifted = (days: number) => ({ ...stack.env, NODE_OPTIONS: `--import=${PRELOAD}`, CERTKEEPER_TEST_CLOCK_OFFSET_MS: String(days * DAY) });

function config(name: string): string {
  return writeConfigFile(join(workDir, `${name}.config.mjs`), stack.directoryUrl, {
    stateDir: join(workDir, `state-${name}`),
    certificates: [{ name, domains: [`${name}.clock.example`], acm: [{ region: 'us-east-1' }] }],
  });
}

function ledger(name: string): { issuances: { at: string }[]; clockSkews: { serial: string }[] } {
  const dir = join(workDir, `state-${name}`, 'ratelimits');
  const [file] = readdirSync(dir);
  return JSON.parse(readFileSync(join(dir, file!), 'utf8'));
}

interface PlanRow {
  action: string;
  checks: string[];
  reasons: string[];
}

async function plan(path: string, env: NodeJS.ProcessEnv): Promise<PlanRow> {
  const run = await runCli(['plan', '--json', '--config', path], env);
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as PlanRow[])[0]!;
}

function succeeded(run: CliResult): void {
  expect(run.code, run.stderr.slice(-2000)).toBe(0);
  expect(eventsNamed(run.events, 'renewal.succeeded')).toHaveLength(1);
}

describe('a wrong clock', () => {
  it('400 days ahead: the certificate the CA issues arrives "expired"; it is recorded, reported as a clock problem, not deployed, and not ordered again on every run', async () => {
    const path = config('ahead');
    succeeded(await runCli(['renew', '--config', path], stack.env));

    const first = await runCli(['renew', '--config', path], shifted(400));
    expect(first.code).toBe(1);
    expect(eventsNamed(first.events, 'acme.order.created')).toHaveLength(1);
    const skew = eventsNamed(first.events, 'clock.skew', 'ahead')[0]!;
    expect(skew).toMatchObject({ level: 'error', serial: expect.any(String), notBefore: expect.any(String), notAfter: expect.any(String) });
    expect(Date.parse(skew.localTime as string)).toBeGreaterThan(Date.parse(skew.notAfter as string));
    expect(String(eventsNamed(first.events, 'renewal.failed', 'ahead')[0]!.error)).toMatch(
      /^clock problem: the certificate the CA just issued is already expired by this machine's clock/,
    );
    expect(eventsNamed(first.events, 'acm.imported')).toEqual([]);
    // The CA counts it: so does the ledger (at this clock's time).
    expect(ledger('ahead').issuances.some((entry) => Math.abs(Date.parse(entry.at) - Date.parse(skew.localTime as string)) < 60_000)).toBe(true);
    expect(ledger('ahead').clockSkews.map((entry) => entry.serial)).toEqual([skew.serial]);

    const again = await runCli(['renew', '--config', path], shifted(400));
    expect(again.code).toBe(1);
    expect(eventsNamed(again.events, 'acme.order.created')).toEqual([]);
    expect(eventsNamed(again.events, 'renewal.decided', 'ahead')[0]).toMatchObject({ action: 'none', checks: expect.arrayContaining(['Expired', 'ClockSkew']) });
    expect(again.stdout).toMatch(/^ahead: FAILED: .*clock problem: .*set the clock right \(NTP\)/m);

    // The clock set right: the deployed certificate is fine, nothing the wrong clock recorded holds it.
    expect(await plan(path, stack.env)).toMatchObject({ action: 'none', checks: ['UpToDate'] });
  });

  it('a rateLimited answer received with the clock a year ahead does not hold the certificate once the clock is right, --force included', async () => {
    const path = config('blocked');
    succeeded(await runCli(['renew', '--config', path], stack.env));

    stack.acmeProxy!.failNextNewOrders(1, { status: 429, type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently', retryAfterSeconds: 3600 });
    const limited = await runCli(['renew', '--config', path], shifted(365));
    expect(limited.code).toBe(1);
    const until = Date.parse(eventsNamed(limited.events, 'acme.rate_limited', 'blocked')[0]!.until as string);
    expect(until - Date.now()).toBeGreaterThan(364 * DAY);

    expect((await plan(path, stack.env)).checks).not.toContain('CaRateLimited');
    const forced = await runCli(['renew', '--force', '--config', path], stack.env);
    succeeded(forced);
    expect(eventsNamed(forced.events, 'renewal.decided', 'blocked')[0]!.checks).toEqual(['Forced']);
  });

  it('a clock a year behind: the certificate is "not valid yet", reported as a clock problem and not deployed', async () => {
    const path = config('behind');
    const run = await runCli(['renew', '--config', path], shifted(-365));
    expect(run.code).toBe(1);
    expect(eventsNamed(run.events, 'clock.skew', 'behind')).toHaveLength(1);
    expect(String(eventsNamed(run.events, 'renewal.failed', 'behind')[0]!.error)).toMatch(
      /^clock problem: the certificate the CA just issued is not valid yet by this machine's clock/,
    );
    expect(eventsNamed(run.events, 'acm.imported')).toEqual([]);
    // Set right, the next run orders as usual (nothing is deployed yet).
    succeeded(await runCli(['renew', '--config', path], stack.env));
  });
});
