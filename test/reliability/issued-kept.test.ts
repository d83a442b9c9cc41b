import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventsNamed, runCli, watchCli, type CliResult } from './output-log.js';
import type { ProxiedCall } from './fault-proxy.js';
import { createStoreTable } from '../stack/dynamodb-table.js';
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
 * An issued certificate is never thrown away: `certkeeper renew --force` is SIGKILLed after the CA has
 * issued (held at a later Route 53 or ACM call), and the next plain `renew` deploys the kept certificate with no new
 * order (Pebble's newOrder, `/order-plz`, counted at the ACME fault proxy), until it is served; then the
 * kept key is gone. Its key waits in stateDir/issued, 0600 in a 0700 directory. A kept certificate the
 * config no longer matches is deleted, with the reason, and a new order is made.
 *
 * Same key type throughout, so every renewal re-imports into the deployed ARNs (crash-points.test.ts
 * covers the new-ARN path, with its listener moves).
 */

const NAME = 'kept';
const DOMAIN = 'www.kept.example';
const OTHER = 'api.kept.example';
let rel: ReliabilityStack;
let stateDir: string;
let listeners: ServedListener[] = [];

beforeAll(async () => {
  rel = await startReliabilityStack();
  stateDir = join(rel.workDir, 'state');
  await rel.aws.createHostedZone('kept.example');
  listeners = await Promise.all([servedListener(rel, 'alb-kept-a'), servedListener(rel, 'alb-kept-eu', 'eu-west-1')]);
  // The first issuance, uninterrupted.
  const first = await runCli(['renew', '--ignore-rate-limits', '--config', config([DOMAIN])], rel.env);
  expect(first.code, first.stderr).toBe(0);
});

afterAll(async () => {
  await Promise.all(listeners.map((listener) => listener.serving.stop()));
  await rel?.stop();
});

function config(domains: string[]): string {
  return writeConfig(rel, `kept-${domains.length}.config.mjs`, {
    certificates: [
      {
        name: NAME,
        domains,
        keyType: 'ecdsa-p256',
        acm: [
          { region: 'us-east-1', listeners: [{ arn: listeners[0]!.listenerArn }] },
          { region: 'eu-west-1', listeners: [{ arn: listeners[1]!.listenerArn }] },
        ],
        verify: listeners.map((listener) => ({ host: '127.0.0.1', port: listener.serving.port, sni: DOMAIN })),
        verifyTimeoutSeconds: 60,
      },
    ],
  });
}

const keptFile = () => join(stateDir, 'issued', `${NAME}.json`);
const newOrders = () => rel.acme.calls.filter((call) => call.action === 'order-plz').length;

/** `renew --force` killed while `hold` is held, once the issued certificate is kept: the serial it issued. */
async function killAfterIssuance(path: string, hold: (call: ProxiedCall) => boolean): Promise<string> {
  // At most three tries: a try Pebble answered with an authorization already valid has no challenge to clean up
  // (issuedWithoutChallenge), so a hold on the clean-up never comes; it renewed, and the next try orders again.
  for (let attempt = 1; ; attempt++) {
    const removeHold = rel.awsProxy.add({ match: hold, fault: { hold: true }, times: 1 });
    const crashed = watchCli(['renew', '--force', '--ignore-rate-limits', '--config', path], rel.env);
    await crashed.waitFor('renewal.issued_kept', 1, 120_000);
    const held = await Promise.race([rel.awsProxy.held(undefined, 120_000), crashed.done.then(() => undefined)]);
    if (!held) {
      removeHold();
      if (attempt < 3 && issuedWithoutChallenge(crashed.events)) continue;
      throw new Error(`the run ended before the held call came:\n${crashed.events.map((event) => `${event.event} ${event.certificate ?? ''}`).join('\n')}`);
    }
    crashed.child.kill('SIGKILL');
    await crashed.done;
    rel.awsProxy.dropHeld();
    return eventsNamed(crashed.events, 'acme.order.finalized')[0]!.serial as string;
  }
}

/** Every region holds one certificate of this name, with `serial`, and every listener serves it. */
async function expectServed(run: CliResult, serial: string): Promise<void> {
  expect(run.code, run.stderr).toBe(0);
  for (const listener of listeners) {
    const tagged = await taggedCertificates(rel.aws, listener.region, NAME);
    expect(tagged, `tagged certificates in ${listener.region}`).toHaveLength(1);
    expect(hexSerial((await rel.aws.describeAcm(tagged[0]!)).Serial!)).toBe(serial.toUpperCase().replace(/^0+/, ''));
    expect(await servedSerial(listener.serving.port, DOMAIN)).toBe(serial.toUpperCase().replace(/^0+/, ''));
  }
  expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
}

/** ACM gives colon-separated hex, moto a decimal integer. */
function hexSerial(serial: string): string {
  return (/^\d+$/.test(serial) ? BigInt(serial).toString(16) : serial.replace(/:/g, '')).toUpperCase().replace(/^0+/, '');
}

describe('an issued certificate is never thrown away', () => {
  it.each([
    // The pass's challenge clean-up can wait minutes on Route 53: the certificate is kept before it is awaited.
    {
      step: 'after finalize, the challenge clean-up still waiting on Route 53',
      hold: (call: ProxiedCall) => call.action === 'ChangeResourceRecordSets' && call.text.includes('clean up'),
    },
    { step: 'after finalize (before the first ACM import)', hold: (call: ProxiedCall) => call.action === 'ImportCertificate' && call.region === 'us-east-1' },
    { step: 'between the two regions', hold: (call: ProxiedCall) => call.action === 'ImportCertificate' && call.region === 'eu-west-1' },
  ])('SIGKILL $step: the next renew deploys it with zero new orders, and its key is deleted', async ({ hold }) => {
    const path = config([DOMAIN]);
    const issued = await killAfterIssuance(path, hold);

    // Kept as the account key is: 0600 in a 0700 directory of stateDir.
    expect(statSync(keptFile()).mode & 0o777).toBe(0o600);
    expect(statSync(join(stateDir, 'issued')).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(keptFile(), 'utf8'))).toMatchObject({ certificate: NAME, serial: issued });

    // No --force: the kept certificate alone makes it due.
    const ordersBefore = newOrders();
    const next = await runCli(['renew', '--config', path], rel.env);
    expect(newOrders() - ordersBefore, 'newOrder calls of the next run').toBe(0);
    await expectServed(next, issued);
    expect(eventsNamed(next.events, 'renewal.decided', NAME)[0]).toMatchObject({ action: 'renew' });
    expect(eventsNamed(next.events, 'renewal.decided', NAME)[0]!.checks).toContain('IssuedNotDeployed');
    expect(eventsNamed(next.events, 'renewal.resumed_issued')).toMatchObject([{ serial: issued }]);
    expect(JSON.stringify(eventsNamed(next.events, 'renewal.resumed_issued'))).not.toContain('PRIVATE KEY');
    expect(existsSync(keptFile())).toBe(false);
  });

  it('the CA is down: the kept certificate is deployed all the same (it needs no CA)', async () => {
    const path = config([DOMAIN]);
    const issued = await killAfterIssuance(path, (call) => call.action === 'ImportCertificate' && call.region === 'us-east-1');
    const ordersBefore = newOrders();
    await rel.acme.down();
    let next: CliResult;
    try {
      next = await runCli(['renew', '--config', path], rel.env);
    } finally {
      await rel.acme.up();
    }
    expect(newOrders() - ordersBefore).toBe(0);
    await expectServed(next, issued);
    expect(existsSync(keptFile())).toBe(false);
  });

  it('a kept certificate whose names are no longer configured is deleted, and a new one ordered', async () => {
    const issued = await killAfterIssuance(config([DOMAIN]), (call) => call.action === 'ImportCertificate' && call.region === 'us-east-1');
    expect(existsSync(keptFile())).toBe(true);

    const ordersBefore = newOrders();
    const next = await runCli(['renew', '--ignore-rate-limits', '--config', config([DOMAIN, OTHER])], rel.env);
    expect(next.code, next.stderr).toBe(0);
    expect(eventsNamed(next.events, 'renewal.issued_discarded')).toMatchObject([{ serial: issued, why: expect.stringContaining('not the configured ones') }]);
    expect(eventsNamed(next.events, 'renewal.resumed_issued')).toEqual([]);
    expect(newOrders() - ordersBefore).toBe(1);
    const renewed = eventsNamed(next.events, 'renewal.succeeded')[0]!.serial as string;
    expect(renewed).not.toBe(issued);
    await expectServed(next, renewed);
    expect(existsSync(keptFile())).toBe(false);
  });
});

describe('with the DynamoDB store and the account key in Secrets Manager', () => {
  const TABLE = 'certkeeper-kept';
  const SECRET = 'certkeeper/kept-account-key';
  const SHARED = 'kept-shared';
  const SHARED_DOMAIN = 'shared.kept.example';
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  let listener: ServedListener;

  beforeAll(async () => {
    await createStoreTable(rel.stack.motoEndpoint, TABLE);
    listener = await servedListener(rel, 'alb-kept-shared');
  });
  afterAll(() => listener?.serving.stop());

  /** One agent: the shared table and secret, a stateDir of its own (as another machine has). */
  function agent(id: string): { path: string; stateDir: string } {
    const dir = join(rel.workDir, `${id}-state`);
    const path = writeConfig(rel, `${id}.config.mjs`, {
      stateDir: dir,
      store: { type: 'dynamodb', tableName: TABLE },
      acme: { accountKey: { secretsManager: { secretId: SECRET } } },
      certificates: [
        {
          name: SHARED,
          domains: [SHARED_DOMAIN],
          keyType: 'ecdsa-p256',
          acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }],
          verify: [{ host: '127.0.0.1', port: listener.serving.port, sni: SHARED_DOMAIN }],
          verifyTimeoutSeconds: 60,
        },
      ],
    });
    return { path, stateDir: dir };
  }

  async function table(): Promise<Record<string, unknown>[]> {
    const client = new DynamoDBClient({ endpoint: rel.stack.motoEndpoint, region: 'us-east-1', credentials });
    try {
      return (await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }))).Items ?? [];
    } finally {
      client.destroy();
    }
  }

  async function keptSecret(): Promise<string | undefined> {
    const client = new SecretsManagerClient({ endpoint: rel.stack.motoEndpoint, region: 'us-east-1', credentials });
    try {
      return (await client.send(new GetSecretValueCommand({ SecretId: `${SECRET}/issued/${SHARED}` }))).SecretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    } finally {
      client.destroy();
    }
  }

  it('an agent killed after finalize: the key waits in Secrets Manager (never in the table), another agent deploys it with zero new orders', async () => {
    const first = agent('agent-a');
    rel.awsProxy.add({ match: (call) => call.action === 'ImportCertificate', fault: { hold: true }, times: 1 });
    const crashed = watchCli(['renew', '--config', first.path], rel.env);
    await crashed.waitFor('renewal.issued_kept', 1, 120_000);
    await rel.awsProxy.held('ImportCertificate', 120_000);
    crashed.child.kill('SIGKILL');
    await crashed.done;
    rel.awsProxy.dropHeld();
    const issued = eventsNamed(crashed.events, 'acme.order.finalized')[0]!.serial as string;

    expect(await keptSecret()).toContain('PRIVATE KEY');
    const items = JSON.stringify(await table());
    expect(items).toContain(`issued#${SHARED}`);
    expect(items).not.toContain('PRIVATE KEY');
    expect(existsSync(join(first.stateDir, 'issued')) ? readdirSync(join(first.stateDir, 'issued')) : [], 'nothing kept in the stateDir').toEqual([]);

    // Two minutes pass: the dead agent's lease is aged instead of waited out.
    const client = new DynamoDBClient({ endpoint: rel.stack.motoEndpoint, region: 'us-east-1', credentials });
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `lease#${SHARED}` } },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: String(Date.now() - 1_000) } },
      }),
    );
    client.destroy();

    const ordersBefore = newOrders();
    const next = await runCli(['renew', '--config', agent('agent-b').path], rel.env);
    expect(next.code, next.stderr).toBe(0);
    expect(newOrders() - ordersBefore, 'newOrder calls of the other agent').toBe(0);
    expect(eventsNamed(next.events, 'renewal.resumed_issued', SHARED)).toMatchObject([{ serial: issued }]);
    expect(await servedSerial(listener.serving.port, SHARED_DOMAIN)).toBe(issued.toUpperCase().replace(/^0+/, ''));
    expect(await keptSecret()).toBeUndefined();
    expect(JSON.stringify(await table())).not.toContain(`issued#${SHARED}`);
  });
});
