import { ACMClient, ListCertificatesCommand, RemoveTagsFromCertificateCommand } from '@aws-sdk/client-acm';
import { DynamoDBClient, ScanCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertificateOutcome } from '../../src/agent/pass.js';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { createStoreTable } from '../stack/dynamodb-table.js';
import { startAtomicWritesProxy, type AtomicWritesProxy } from '../stack/atomic-writes-proxy.js';
import { startAwsCallRecorder } from '../stack/aws-call-recorder.js';
import { startStack, type Stack } from '../stack/stack.js';
import { eventsNamed, runCli, watchCli, type AuditEvent, type CliResult } from './cli.js';
import { writeConfigFile } from './config-file.js';

/**
 * Several agents, one truth: certkeeper processes on one config with the DynamoDB store, each with its
 * own empty stateDir (as separate machines or scheduled tasks have), race for the same certificates.
 * Each certificate is ordered once and its listeners updated once; the ACME account key is created
 * once in Secrets Manager and reused; nothing is written to the stateDirs.
 */

const TABLE = 'certkeeper-shared';
const SECRET = 'certkeeper/acme-account-key';
let stack: Stack;
let aws: AwsFixtures;
let listenerA: HttpsListener;
let listenerB: HttpsListener;
let workDir: string;
let atomic: AtomicWritesProxy;
/** The stack's environment, with DynamoDB, Secrets Manager and SSM behind the proxy that makes moto's conditional writes atomic. */
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  stack = await startStack();
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('shared.example');
  listenerA = await aws.createHttpsListener({ name: 'alb-shared-a' });
  listenerB = await aws.createHttpsListener({ name: 'alb-shared-b' });
  await createStoreTable(stack.motoEndpoint, TABLE);
  atomic = await startAtomicWritesProxy(stack.motoEndpoint);
  env = { ...stack.env, ...atomic.env };
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-shared-'));
});

afterAll(async () => {
  await atomic?.stop();
  await stack?.stop();
});

/** One config per agent: the same certificates and table, a stateDir of its own. */
function agentConfig(agent: string, certificates: unknown[], extra: Record<string, unknown> = {}): { config: string; stateDir: string } {
  const stateDir = join(workDir, `${agent}-state`);
  const config = writeConfigFile(join(workDir, `${agent}.config.mjs`), stack.directoryUrl, {
    stateDir,
    store: { type: 'dynamodb', tableName: TABLE },
    acme: { accountKey: { secretsManager: { secretId: SECRET } } },
    certificates,
    ...extra,
  });
  return { config, stateDir };
}

const certificates = () => [
  { name: 'shared-web', domains: ['web.shared.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listenerA.listenerArn }] }] },
  { name: 'shared-api', domains: ['api.shared.example', 'v2.api.shared.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listenerB.listenerArn, mode: 'sni' }] }] },
];

function tableClient(): DynamoDBClient {
  return new DynamoDBClient({ endpoint: stack.motoEndpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

async function tableItems(): Promise<string[]> {
  const client = tableClient();
  try {
    return ((await client.send(new ScanCommand({ TableName: TABLE, ConsistentRead: true }))).Items ?? []).map((item) => item.pk!.S!).sort();
  } finally {
    client.destroy();
  }
}

function all(runs: { events: AuditEvent[] }[], name: string, certificate?: string): AuditEvent[] {
  return runs.flatMap((run) => eventsNamed(run.events, name, certificate));
}

describe('two agents sharing the DynamoDB store', () => {
  let renews: CliResult[];

  it('two `certkeeper renew` at once: one order per certificate, one set of listener updates, one account key', async () => {
    const agents = [agentConfig('renew-1', certificates()), agentConfig('renew-2', certificates())];
    // Slow DNS answers keep each renewal going for seconds, so the two processes overlap.
    stack.dns.answerDelayMs = 1_000;
    try {
      renews = await Promise.all(agents.map(({ config }) => runCli(['renew', '--json', '--config', config], env)));
    } finally {
      stack.dns.answerDelayMs = 0;
    }
    const outcomes = renews.map((run) => JSON.parse(run.stdout) as CertificateOutcome[]);
    for (const name of ['shared-web', 'shared-api']) {
      expect(all(renews, 'acme.order.created', name), `orders of ${name}`).toHaveLength(1);
      const results = outcomes.map((list) => list.find((outcome) => outcome.name === name)!.result);
      expect(
        results.filter((result) => result === 'renewed'),
        `${name}: ${results.join(', ')}`,
      ).toHaveLength(1);
      // The other process either found it leased (busy) or, after taking the lease, already done (unchanged).
      expect(results.filter((result) => result !== 'renewed').every((result) => result === 'busy' || result === 'unchanged')).toBe(true);
    }
    expect(all(renews, 'listener.updated', 'shared-web')).toEqual([expect.objectContaining({ listenerArn: listenerA.listenerArn, mode: 'default' })]);
    expect(all(renews, 'listener.updated', 'shared-api')).toEqual([expect.objectContaining({ listenerArn: listenerB.listenerArn, mode: 'sni', action: 'added' })]);
    expect(all(renews, 'acm.imported')).toHaveLength(2);

    // The account key: created once in Secrets Manager, used by both (one account registered).
    expect(all(renews, 'acme.account.key_created')).toEqual([expect.objectContaining({ where: { secretsManager: SECRET } })]);
    const secrets = new SecretsManagerClient({ region: 'us-east-1', endpoint: stack.motoEndpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const secret = await secrets.send(new GetSecretValueCommand({ SecretId: SECRET }));
    secrets.destroy();
    expect(secret.SecretString).toContain('BEGIN PRIVATE KEY');
    const accountUrls = new Set(all(renews, 'acme.account.registered').map((event) => event.accountUrl));
    expect(accountUrls.size).toBe(1);

    // Nothing left behind: no lease, no journal entry, no challenge record; the stateDirs were never needed.
    expect(await tableItems()).toEqual([expect.stringMatching(/^account#/), 'cert#shared-api', 'cert#shared-web', expect.stringMatching(/^ratelimits#/)]);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    for (const { stateDir } of agents) expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
    for (const run of renews) expect(run.stderr + run.stdout).not.toContain('PRIVATE KEY');
  });

  it("PEM facts are kept in the table: a new agent without local state reads no certificate's PEM again", async () => {
    // Certificates certkeeper imports carry their PEM's facts in the certkeeper:facts tag; those imported by
    // hand, or before that tag, do not: without it, what only the PEM says is read once and kept in the table.
    const acm = new ACMClient({ region: 'us-east-1', endpoint: stack.motoEndpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    const domains = new Set(certificates().flatMap((certificate) => certificate.domains));
    const listed = await acm.send(new ListCertificatesCommand({}));
    const ours = (listed.CertificateSummaryList ?? []).filter((summary) => domains.has(summary.DomainName ?? ''));
    expect(ours).toHaveLength(2);
    for (const summary of ours) await acm.send(new RemoveTagsFromCertificateCommand({ CertificateArn: summary.CertificateArn, Tags: [{ Key: 'certkeeper:facts' }] }));
    acm.destroy();
    const recorder = await startAwsCallRecorder(stack.motoEndpoint);
    try {
      const getCertificates = async (agent: string) => {
        const from = recorder.calls.length;
        const { config, stateDir } = agentConfig(agent, certificates());
        const run = await runCli(['status', '--json', '--config', config], { ...env, AWS_ENDPOINT_URL: recorder.endpoint });
        expect(run.code, run.stderr).toBe(0);
        expect(existsSync(stateDir) ? readdirSync(stateDir) : [], 'nothing in the stateDir').toEqual([]);
        return recorder.calls.slice(from).filter((call) => call.action === 'acm:GetCertificate').length;
      };
      // The first agent to look reads both certificates' PEMs and keeps what they say in the table...
      expect(await getCertificates('status-1')).toBe(2);
      expect((await tableItems()).filter((key) => key.startsWith('facts#'))).toHaveLength(2);
      // ...so the next one, like a scheduled task starting from nothing, reads none.
      expect(await getCertificates('status-2')).toBe(0);
    } finally {
      await recorder.stop();
    }
  });

  it('two `certkeeper run` daemons at once: one order for the new certificate, one listener update', async () => {
    const fresh = { name: 'shared-daemon', domains: ['daemon.shared.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listenerA.listenerArn, mode: 'sni' }] }] };
    // A schedule that does not fire during the test: each daemon's pass at start races the other's.
    const schedule = { cron: '0 0 1 1 *', jitterSeconds: 0 };
    const agents = [agentConfig('run-1', [...certificates(), fresh], { schedule }), agentConfig('run-2', [...certificates(), fresh], { schedule })];
    stack.dns.answerDelayMs = 1_000;
    const daemons = agents.map(({ config }) => watchCli(['run', '--config', config], env));
    let runs: CliResult[];
    try {
      await Promise.all(daemons.map((daemon) => daemon.waitFor('pass.finished')));
    } finally {
      stack.dns.answerDelayMs = 0;
      for (const daemon of daemons) daemon.child.kill('SIGTERM');
      runs = await Promise.all(daemons.map((daemon) => daemon.done));
    }
    for (const run of runs) expect(run.code, run.stderr).toBe(0);
    expect(all(runs, 'acme.order.created')).toEqual([expect.objectContaining({ certificate: 'shared-daemon' })]);
    expect(all(runs, 'renewal.succeeded')).toEqual([expect.objectContaining({ certificate: 'shared-daemon' })]);
    expect(all(runs, 'listener.updated')).toEqual([expect.objectContaining({ certificate: 'shared-daemon', listenerArn: listenerA.listenerArn, mode: 'sni', action: 'added' })]);
    // The key made by the renew processes is the one the daemons use.
    expect(all(runs, 'acme.account.key_created')).toEqual([]);
    expect((await tableItems()).filter((key) => key.startsWith('lease#') || key.startsWith('journal#'))).toEqual([]);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('a process killed mid-renewal: its lease blocks others until it expires, then the next takes over, cleans up and renews', async () => {
    const crash = { name: 'shared-crash', domains: ['crash.shared.example'], acm: [{ region: 'us-east-1' }] };
    const [first, second, third] = ['crash-1', 'crash-2', 'crash-3'].map((agent) => agentConfig(agent, [crash]));
    // A slow nameserver keeps the run waiting for validation, with its record published, when it is killed.
    stack.dns.answerDelayMs = 3_000;
    const killed = watchCli(['renew', '--config', first!.config], env);
    try {
      await killed.waitFor('dns.challenge.presented');
      killed.child.kill('SIGKILL');
      await killed.done;
    } finally {
      stack.dns.answerDelayMs = 0;
    }
    expect((await aws.listAcmeChallengeRecords()).map((record) => record.name)).toEqual(['_acme-challenge.crash.shared.example']);
    expect((await tableItems()).filter((key) => key.includes('shared-crash'))).toEqual([expect.stringMatching(/^journal#.*#shared-crash$/), 'lease#shared-crash']);

    // While the lease has not expired, another agent leaves the certificate and the dead run's records alone.
    const blocked = await runCli(['renew', '--json', '--config', second!.config], env);
    expect(blocked.code).toBe(1);
    expect((JSON.parse(blocked.stdout) as CertificateOutcome[])[0]!.result).toBe('busy');
    expect(eventsNamed(blocked.events, 'acme.order.created')).toEqual([]);
    expect(eventsNamed(blocked.events, 'dns.challenge.orphans_cleaned')).toEqual([]);

    // Two minutes pass: age the lease item instead of waiting.
    const client = tableClient();
    await client.send(
      new UpdateItemCommand({
        TableName: TABLE,
        Key: { pk: { S: 'lease#shared-crash' } },
        UpdateExpression: 'SET expiresAt = :past',
        ExpressionAttributeValues: { ':past': { N: String(Date.now() - 1_000) } },
      }),
    );
    client.destroy();
    const next = await runCli(['renew', '--config', third!.config], env);
    expect(next.code, next.stderr).toBe(0);
    const [cleaned] = eventsNamed(next.events, 'dns.challenge.orphans_cleaned');
    expect(cleaned).toMatchObject({ certificate: 'shared-crash', records: ['_acme-challenge.crash.shared.example'] });
    const [takenOver] = eventsNamed(next.events, 'store.lease.taken_over', 'shared-crash');
    expect(takenOver).toMatchObject({ store: 'dynamodb', table: TABLE, lease: 'lease#shared-crash' });
    expect(String(takenOver!.previousHolder)).toMatch(new RegExp(`:${killed.child.pid}:`));
    expect(eventsNamed(next.events, 'acme.order.created', 'shared-crash')).toHaveLength(1);
    expect(eventsNamed(next.events, 'renewal.succeeded', 'shared-crash')).toHaveLength(1);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    expect((await tableItems()).filter((key) => key.startsWith('lease#') || key.startsWith('journal#'))).toEqual([]);
  });
});
