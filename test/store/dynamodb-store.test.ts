import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { remoteAccountKey } from '../../src/acme/account-key.js';
import type { ResolvedConfig } from '../../src/config/schema.js';
import { ChallengeJournal } from '../../src/dns/challenge-journal.js';
import { DynamoDbStore } from '../../src/store/dynamodb-store.js';
import { createStoreTable } from '../stack/dynamodb-table.js';
import { startMoto, type Moto } from '../stack/moto.js';
import { startAtomicWritesProxy, type AtomicWritesProxy } from '../stack/atomic-writes-proxy.js';
import { recordingLogger } from './recording-logger.js';

/**
 * The DynamoDB store against moto server's DynamoDB: conditional writes, leases (taken, refused,
 * renewed, expired and taken over, lost), the challenge journal; and the account key created once in
 * Secrets Manager and SSM when agents race.
 */

const TABLE = 'certkeeper-store-test';
let moto: Moto;
let atomic: AtomicWritesProxy;
const stores: DynamoDbStore[] = [];
const saved: Record<string, string | undefined> = {};

function store(options: { leaseMs?: number; renewEveryMs?: number; log?: ReturnType<typeof recordingLogger> } = {}): DynamoDbStore {
  const created = new DynamoDbStore({ tableName: TABLE, region: 'us-east-1', ...options });
  stores.push(created);
  return created;
}

function raw(): DynamoDBClient {
  return new DynamoDBClient({ region: 'us-east-1' });
}

beforeAll(async () => {
  moto = await startMoto();
  // Conditional writes are atomic in AWS; moto needs the proxy for that (see atomic-writes-proxy.ts).
  atomic = await startAtomicWritesProxy(moto.endpoint);
  const env = { AWS_ENDPOINT_URL: moto.endpoint, ...atomic.env, AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing', AWS_REGION: 'us-east-1' };
  for (const [name, value] of Object.entries(env)) {
    saved[name] = process.env[name];
    process.env[name] = value;
  }
  await createStoreTable(moto.endpoint, TABLE);
});

afterAll(async () => {
  for (const created of stores) created.close();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await atomic?.stop();
  await moto?.stop();
});

describe('DynamoDB store', () => {
  it('reads what it wrote, and concurrent updates from three agents lose none (conditional writes)', async () => {
    const [a, b, c] = [store(), store(), store()];
    expect(await a.get('cert#counter')).toBeUndefined();
    await Promise.all(
      Array.from({ length: 24 }, (_, index) =>
        [a, b, c][index % 3]!.update<{ n: number; by: string[] }>('cert#counter', (current) => ({ n: (current?.n ?? 0) + 1, by: [...(current?.by ?? []), String(index)] })),
      ),
    );
    const final = await b.get<{ n: number; by: string[] }>('cert#counter');
    expect(final?.n).toBe(24);
    expect(new Set(final?.by).size).toBe(24);
    await a.delete('cert#counter');
    expect(await b.get('cert#counter')).toBeUndefined();
  });

  it('put writes a whole document without reading it first, and an update after it still applies to what it wrote', async () => {
    const [a, b] = [store(), store()];
    await a.put('notices#put-then-update', { n: 1 });
    await b.put('notices#put-then-update', { n: 2 });
    expect(await a.get('notices#put-then-update')).toEqual({ n: 2 });
    expect(await a.update<{ n: number }>('notices#put-then-update', (current) => ({ n: (current?.n ?? 0) + 10 }))).toEqual({ n: 12 });
    await a.put('notices#put-then-update', { n: 3 });
    expect(await b.update<{ n: number }>('notices#put-then-update', (current) => ({ n: (current?.n ?? 0) + 10 }))).toEqual({ n: 13 });
    await a.delete('notices#put-then-update');
  });

  it('gives a lease to one agent at a time, and to the next once released', async () => {
    const log = recordingLogger();
    const a = store();
    const b = store();
    const [first, second] = await Promise.all([a.tryLease('race', log), b.tryLease('race', log)]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    const held = (first ?? second)!;
    const other = first ? b : a;
    expect(await other.tryLease('race', log)).toBeUndefined();
    expect(await other.isAtWork(held.holder, 'race')).toBe(true);
    await held.release();
    const next = await other.tryLease('race', log);
    expect(next?.holder.id).toBe(other.holder.id);
    await next!.release();
    expect(log.events.filter((event) => event.event === 'store.lease.taken_over')).toEqual([]);
  });

  it('renews a held lease while the work goes on', async () => {
    const log = recordingLogger();
    const a = store({ leaseMs: 60_000, renewEveryMs: 100 });
    const lease = await a.tryLease('long-renewal', log);
    const client = raw();
    const expiresAt = async () =>
      Number((await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'lease#long-renewal' } }, ConsistentRead: true }))).Item?.expiresAt?.N);
    const initial = await expiresAt();
    let later = initial;
    while (later === initial) later = await expiresAt();
    expect(later).toBeGreaterThan(initial);
    expect(lease!.signal.aborted).toBe(false);
    await lease!.release();
    client.destroy();
  });

  it('takes over an expired lease, with an audit event', async () => {
    const log = recordingLogger();
    // A holder that stalled: its renewals never arrive (renewal every hour stands in for that).
    const stalled = store({ leaseMs: 60_000, renewEveryMs: 3_600_000 });
    const lease = await stalled.tryLease('takeover', log);
    expect(lease).toBeDefined();
    const next = store();
    expect(await next.tryLease('takeover', log)).toBeUndefined();
    // Time passes beyond its expiry: age the lease item instead of waiting.
    const client = raw();
    const past = Date.now() - 1_000;
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'lease#takeover' }, holder: { S: stalled.holder.id }, expiresAt: { N: String(past) } } }));
    expect(await next.isAtWork(stalled.holder, 'takeover')).toBe(false);
    const taken = await next.tryLease('takeover', log);
    expect(taken?.holder.id).toBe(next.holder.id);
    const takenOver = log.events.filter((event) => event.event === 'store.lease.taken_over');
    expect(takenOver).toHaveLength(1);
    expect(takenOver[0]).toMatchObject({
      store: 'dynamodb',
      table: TABLE,
      previousHolder: stalled.holder.id,
      holder: next.holder.id,
      previousExpiresAt: new Date(past).toISOString(),
    });
    // The stalled holder releasing late leaves the new holder's lease alone.
    await lease!.release();
    expect(await next.isAtWork(next.holder, 'takeover')).toBe(true);
    await taken!.release();
    client.destroy();
  });

  it('tells the work to stop when its lease was taken by another agent', async () => {
    const log = recordingLogger();
    const holder = store({ leaseMs: 60_000, renewEveryMs: 50 });
    const lease = await holder.tryLease('lost', log);
    // Another agent now holds it (as after a takeover): the holder's next renewal is refused.
    const client = raw();
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'lease#lost' }, holder: { S: 'other-agent' }, expiresAt: { N: String(Date.now() + 60_000) } } }));
    await new Promise((resolve) => lease!.signal.addEventListener('abort', resolve, { once: true }));
    expect(String(lease!.signal.reason)).toContain('lost the lease on lost: another agent holds it now');
    expect(log.events.filter((event) => event.event === 'store.lease.lost')).toEqual([expect.objectContaining({ holder: holder.holder.id, lease: 'lease#lost' })]);
    await lease!.release();
    const item = (await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'lease#lost' } }, ConsistentRead: true }))).Item;
    expect(item?.holder?.S).toBe('other-agent');
    client.destroy();
  });

  it('tells the work to stop before its lease expires when renewals hang, and a failed release is only a warning', async () => {
    const log = recordingLogger();
    const holder = store({ leaseMs: 900, renewEveryMs: 300 });
    const lease = await holder.tryLease('hung', log);
    const takenAt = Date.now();
    // DynamoDB stops answering this agent (a hung connection): a call ends only when its abortSignal fires, as in the SDK.
    const send = holder.client.send.bind(holder.client);
    const hang = (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
      new Promise((_resolve, reject) => options?.abortSignal?.addEventListener('abort', () => reject(options.abortSignal!.reason), { once: true }));
    holder.client.send = hang as typeof holder.client.send;
    await new Promise((resolve) => lease!.signal.addEventListener('abort', resolve, { once: true }));
    // Stopped with at least one renewal interval of the lease left: no other agent could have started yet.
    expect(Date.now() - takenAt).toBeLessThanOrEqual(900 - 300 + 150);
    expect(String(lease!.signal.reason)).toContain('lost the lease on hung: not extended in time');
    expect(log.events.filter((event) => event.event === 'store.lease.lost')).toEqual([expect.objectContaining({ holder: holder.holder.id, lease: 'lease#hung' })]);
    // The release fails too (DynamoDB refuses): the lease expires by itself; the work's result stands.
    holder.client.send = (() => Promise.reject(Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' }))) as typeof holder.client.send;
    await expect(lease!.release()).resolves.toBeUndefined();
    expect(log.events.filter((event) => event.event === 'store.lease.release_failed')).toEqual([
      expect.objectContaining({ lease: 'lease#hung', error: expect.stringContaining('Service unavailable') }),
    ]);
    holder.client.send = send;
  });

  it('keeps the challenge journal in the table: orphans are those whose holder is no longer at work', async () => {
    const log = recordingLogger();
    const gone = store();
    const alive = store();
    const me = store();
    const live = await alive.tryLease('journal-live', log);
    await new ChallengeJournal(gone).note('00000000-0000-4000-8000-000000000001', 'journal-dead', [{ zoneId: 'Z1', name: '_acme-challenge.dead.example', value: 'v1' }]);
    await new ChallengeJournal(alive).note('00000000-0000-4000-8000-000000000002', 'journal-live', [{ zoneId: 'Z1', name: '_acme-challenge.live.example', value: 'v2' }]);
    const orphans = await new ChallengeJournal(me).orphans();
    expect(orphans.map((orphan) => orphan.entry.certificate)).toEqual(['journal-dead']);
    await orphans[0]!.forget();
    expect((await new ChallengeJournal(me).orphans()).map((orphan) => orphan.entry.certificate)).toEqual([]);
    await live!.release();
    expect((await new ChallengeJournal(me).orphans()).map((orphan) => orphan.entry.certificate)).toEqual(['journal-live']);
  });

  it('a damaged document (not JSON, or the wrong shape) reads as absent, is reported once, and the next write replaces it', async () => {
    const log = recordingLogger();
    const a = store({ log });
    const client = raw();
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'cert#damaged' }, doc: { S: '{"consecutiveFailures": 1, "acm": ' }, version: { N: '3' } } }));
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'ratelimits#damaged' }, doc: { S: '{"orders": "many"}' }, version: { N: '1' } } }));
    expect(await a.get('cert#damaged')).toBeUndefined();
    expect(await a.get('cert#damaged')).toBeUndefined();
    expect(await a.get('ratelimits#damaged')).toBeUndefined();
    expect(log.events).toEqual([
      expect.objectContaining({
        event: 'store.file.corrupt',
        level: 'error',
        store: 'dynamodb',
        file: `${TABLE}/cert#damaged`,
        movedTo: null,
        error: expect.stringMatching(/^not valid JSON .*left in the table until the next write of cert#damaged replaces it$/),
      }),
      expect.objectContaining({ event: 'store.file.corrupt', file: `${TABLE}/ratelimits#damaged`, error: expect.stringMatching(/^wrong shape for a rate-limit ledger: orders: /) }),
    ]);
    // Left for inspection until then; the update starts from absent and wins the conditional write on the item's version.
    expect(await a.update<{ consecutiveFailures: number }>('cert#damaged', (current) => ({ consecutiveFailures: (current?.consecutiveFailures ?? 0) + 1 }))).toEqual({
      consecutiveFailures: 1,
    });
    expect(await store().get('cert#damaged')).toEqual({ consecutiveFailures: 1 });
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'cert#damaged' } }, ConsistentRead: true }))).Item?.version?.N).toBe('4');
    await a.delete('cert#damaged');
    await a.delete('ratelimits#damaged');
    client.destroy();
  });

  it('shows who holds a lease, since when and until when; an expired one is not live', async () => {
    const log = recordingLogger();
    const a = store();
    const reader = store();
    expect(await reader.readLease('shown')).toBeUndefined();
    const before = Date.now();
    const lease = await a.tryLease('shown', log);
    const view = await reader.readLease('shown');
    expect(view).toMatchObject({
      holder: { id: a.holder.id, pid: process.pid, host: a.holder.host, startTime: a.holder.startTime },
      live: true,
      why: expect.stringMatching(/^renewed by its holder/),
    });
    expect(Date.parse(view!.since)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(view!.expiresAt) - Date.parse(view!.heartbeatAt!)).toBe(120_000);
    const client = raw();
    await client.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: 'lease#shown' }, holder: { S: a.holder.id }, expiresAt: { N: String(Date.now() - 1_000) } } }));
    expect(await reader.readLease('shown')).toMatchObject({ live: false, heartbeatAt: null, why: expect.stringMatching(/^heartbeat expired/) });
    await lease!.release();
    client.destroy();
  });

  it('says how to create the table when it does not exist', async () => {
    const missing = new DynamoDbStore({ tableName: 'no-such-table', region: 'us-east-1' });
    stores.push(missing);
    await expect(missing.get('cert#x')).rejects.toThrow(/store\.tableName "no-such-table" does not exist .*AttributeName=pk,AttributeType=S .*KeyType=HASH/);
  });
});

describe('ACME account key in Secrets Manager or SSM', () => {
  const config = (accountKey: ResolvedConfig['acme']['accountKey']) => ({ acme: { accountKey }, aws: { region: 'us-east-1' } }) as ResolvedConfig;
  let made = 0;
  const createKey = async () => `-----BEGIN PRIVATE KEY-----\nkey-${++made}\n-----END PRIVATE KEY-----\n`;

  it.each([
    ['Secrets Manager', { secretsManager: { secretId: 'certkeeper/race' } }],
    ['SSM SecureString', { ssm: { parameterName: '/certkeeper/race' } }],
  ] as const)('%s: two agents racing end with one key, created once', async (_where, setting) => {
    const [a, b] = [remoteAccountKey(config(setting))!, remoteAccountKey(config(setting))!];
    const results = await Promise.all([a.loadOrCreate(createKey), b.loadOrCreate(createKey)]);
    expect(results[0].pem).toBe(results[1].pem);
    expect(results.filter((result) => result.created)).toHaveLength(1);
    const third = remoteAccountKey(config(setting))!;
    expect(await third.loadOrCreate(createKey)).toEqual({ pem: results[0].pem, created: false });
    for (const source of [a, b, third]) source.close();
  });

  it('fills a secret that was created empty (e.g. by a template) once', async () => {
    const client = new SecretsManagerClient({ region: 'us-east-1' });
    await client.send(new CreateSecretCommand({ Name: 'certkeeper/empty' }));
    client.destroy();
    const setting = { secretsManager: { secretId: 'certkeeper/empty' } };
    const [a, b] = [remoteAccountKey(config(setting))!, remoteAccountKey(config(setting))!];
    const results = await Promise.all([a.loadOrCreate(createKey), b.loadOrCreate(createKey)]);
    expect(results[0].pem).toBe(results[1].pem);
    expect(results[0].pem).toContain('PRIVATE KEY');
    for (const source of [a, b]) source.close();
  });

  it('refuses an SSM parameter that is not a SecureString, naming the key', async () => {
    const { SSMClient, PutParameterCommand } = await import('@aws-sdk/client-ssm');
    const client = new SSMClient({ region: 'us-east-1' });
    await client.send(new PutParameterCommand({ Name: '/certkeeper/plain', Value: 'x', Type: 'String' }));
    client.destroy();
    const source = remoteAccountKey(config({ ssm: { parameterName: '/certkeeper/plain' } }))!;
    await expect(source.loadOrCreate(createKey)).rejects.toThrow(/acme\.accountKey\.ssm\.parameterName "\/certkeeper\/plain" is a String, not a SecureString/);
    source.close();
  });
});

describe('kept issued certificates with the DynamoDB store', () => {
  const config = (accountKey: ResolvedConfig['acme']['accountKey']) => ({ acme: { accountKey }, aws: { region: 'us-east-1' } }) as ResolvedConfig;

  it.each([
    ['Secrets Manager', { secretsManager: { secretId: 'certkeeper/kept' } }, 'Secrets Manager secret certkeeper/kept/issued/web'],
    // A parameter name without its leading slash still makes a valid hierarchical name.
    ['SSM SecureString', { ssm: { parameterName: 'certkeeper/kept' } }, 'SSM parameter /certkeeper/kept/issued/web'],
  ] as const)('%s: the key waits next to the account key, the table holds no key, and both go on discard', async (_where, setting, where) => {
    const { selfSignedCertificate } = await import('../stack/tls.js');
    const { readCertificate } = await import('../../src/pki/certificate.js');
    const { IssuedCertificates } = await import('../../src/store/issued-certificates.js');
    const { keptKeySecrets } = await import('../../src/store/kept-key-secrets.js');
    const { certificatePem, privateKeyPem } = await selfSignedCertificate('web.kept.test');
    const kept = new IssuedCertificates('/nonexistent-never-written', store(), keptKeySecrets(config(setting)));
    expect(kept.where('web')).toBe(where);
    await kept.keep(
      'web',
      { leafPem: certificatePem, chainPem: '', privateKeyPem, facts: readCertificate(certificatePem), orderUrl: 'https://ca.test/order/1' },
      { directoryUrl: 'https://ca.test/dir', runId: 'r' },
    );

    const client = raw();
    const item = await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'issued#web' } }, ConsistentRead: true }));
    expect(item.Item).toBeDefined();
    expect(JSON.stringify(item.Item)).not.toContain('PRIVATE KEY');
    // Another agent (its own stateDir) reads it whole.
    const other = new IssuedCertificates('/nonexistent-never-written-either', store(), keptKeySecrets(config(setting)));
    expect((await other.read('web'))?.issued.privateKeyPem).toBe(privateKeyPem);

    await other.discard('web');
    expect(await kept.read('web')).toBeUndefined();
    expect((await client.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'issued#web' } }, ConsistentRead: true }))).Item).toBeUndefined();
    expect(await keptKeySecrets(config(setting))!.get('web')).toBeUndefined();
    client.destroy();
  });
});
