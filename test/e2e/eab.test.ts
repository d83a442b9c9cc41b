import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli } from './cli.js';

/** External Account Binding, as ZeroSSL or Google Trust Services require: Pebble in its EAB mode. */

const KID = 'kid-1';
const HMAC_KEY = 'zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W';
let stack: Stack;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ pebble: { eab: { [KID]: HMAC_KEY } } });
  await awsFixtures(stack.motoEndpoint).createHostedZone('eab.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-eab-'));
});

afterAll(async () => {
  await stack?.stop();
});

function config(name: string, eab?: { kid: string; hmacKey: string }): string {
  return writeConfigFile(join(workDir, `${name}.config.mjs`), stack.directoryUrl, {
    acme: eab ? { eab } : {},
    stateDir: join(workDir, name),
    certificates: [{ name: 'bound', domains: ['www.eab.example'], acm: [{ region: 'us-east-1' }] }],
  });
}

describe('external account binding', () => {
  it('without a binding the CA refuses the account, and the error says why', async () => {
    const run = await runCli(['renew', '--config', config('unbound')], stack.env);
    expect(run.code).toBe(1);
    expect(eventsNamed(run.events, 'renewal.failed')[0]!.error).toMatch(/the CA requires External Account Binding: set acme\.eab \{ kid, hmacKey \}/);
  });

  it('with acme.eab the account is bound and the certificate issued', async () => {
    const run = await runCli(['renew', '--config', config('bound', { kid: KID, hmacKey: HMAC_KEY })], stack.env);
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'acme.account.registered')).toHaveLength(1);
    expect(eventsNamed(run.events, 'renewal.succeeded')).toHaveLength(1);
    expect(run.stderr).not.toContain(HMAC_KEY);
  });
});
