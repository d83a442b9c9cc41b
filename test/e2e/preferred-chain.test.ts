import { X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { httpsGet } from '../stack/https-get.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli } from './cli.js';

/** acme.preferredChain picks among the CA's alternate chains (Pebble with PEBBLE_ALTERNATE_ROOTS). */

let stack: Stack;
let aws: AwsFixtures;
let workDir: string;

beforeAll(async () => {
  stack = await startStack({ pebble: { env: { PEBBLE_ALTERNATE_ROOTS: '1' } } });
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('chain.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-chain-'));
});

afterAll(async () => {
  await stack?.stop();
});

async function rootName(index: number): Promise<string> {
  const answer = await httpsGet(`${stack.pebble.managementUrl}/roots/${index}`, stack.caCertPath);
  expect(answer.status).toBe(200);
  return new X509Certificate(answer.body).subject.replace(/^CN=/, '');
}

async function issueWith(name: string, preferredChain?: string): Promise<string> {
  const config = writeConfigFile(join(workDir, `${name}.config.mjs`), stack.directoryUrl, {
    acme: preferredChain ? { preferredChain } : {},
    stateDir: join(workDir, name),
    certificates: [{ name, domains: [`${name}.chain.example`], acm: [{ region: 'us-east-1' }] }],
  });
  const run = await runCli(['renew', '--config', config], stack.env);
  expect(run.code, run.stderr).toBe(0);
  expect(eventsNamed(run.events, 'acm.imported')).toHaveLength(1);
  // moto's GetCertificate answers a chain of its own (Amazon's), so the chain is read from the audit log:
  // the root that the imported intermediates lead to.
  return (eventsNamed(run.events, 'acme.order.finalized')[0]!.chainRoot as string).replace(/^CN=/, '');
}

describe('preferred chain', () => {
  it('imports the default chain without a preference, the alternate one when asked', async () => {
    const [defaultRoot, alternateRoot] = [await rootName(0), await rootName(1)];
    expect(defaultRoot).not.toBe(alternateRoot);
    expect(await issueWith('plain')).toBe(defaultRoot);
    expect(await issueWith('preferred', alternateRoot)).toBe(alternateRoot);
  });
});
