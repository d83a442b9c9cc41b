import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { Route53Accounts } from '../../src/dns/route53-accounts.js';
import { Route53Solver } from '../../src/dns/route53-solver.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { startRoute53Faithful, type Route53Faithful } from '../stack/route53-faithful.js';
import { Route53Zones } from '../stack/route53-zones.js';
import { startStack, type Stack } from '../stack/stack.js';
import { eventsNamed, runCli, type AuditEvent, type CliResult } from './cli.js';
import { writeConfigFile } from './config-file.js';

/**
 * Route 53 as it behaves for real, through the faithful layer in front of moto (changes PENDING for a
 * while, distinct change IDs, 5 requests/s per account with `Throttling`, injected
 * `PriorRequestNotComplete`): certkeeper batches, waits, retries, checks the nameserver, follows CNAME
 * delegation and assumes roles into a second account, with Pebble validating every challenge.
 */

const OTHER_ACCOUNT = '222222222222';
const ROLE_ARN = `arn:aws:iam::${OTHER_ACCOUNT}:role/certkeeper-dns`;
let stack: Stack;
let faithful: Route53Faithful;
let aws: AwsFixtures;
let otherAccount: Route53Client;
let workDir: string;
const zoneIds: Record<string, string> = {};

function env(): NodeJS.ProcessEnv {
  return { ...stack.env, AWS_ENDPOINT_URL_ROUTE_53: faithful.url };
}

function certificate(name: string, domains: string[], route53: Record<string, string> = {}) {
  return { name, domains, route53, acm: [{ region: 'us-east-1' }] };
}

async function renew(file: string, fields: { certificates: unknown[]; route53?: Record<string, unknown>; concurrency?: number }): Promise<CliResult> {
  const config = writeConfigFile(join(workDir, `${file}.config.mjs`), stack.directoryUrl, { stateDir: join(workDir, `state-${file}`), ...fields });
  return runCli(['renew', '--config', config], env());
}

async function upsertCname(zoneId: string, name: string, target: string): Promise<void> {
  await aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: zoneId,
      ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: name, Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: target }] } }] },
    }),
  );
}

function callsDuring<T>(work: () => Promise<T>): Promise<{ result: T; calls: Route53Faithful['calls'] }> {
  const from = faithful.calls.length;
  return work().then((result) => ({ result, calls: faithful.calls.slice(from) }));
}

beforeAll(async () => {
  stack = await startStack();
  faithful = await startRoute53Faithful(stack.motoEndpoint);
  aws = awsFixtures(stack.motoEndpoint);
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-route53-'));
  for (const zone of ['batch.example', 'deleg.example', 'validation.example', 'twin.example', 'stale.example', 'flaky.example', 'shared.example']) {
    zoneIds[zone] = await aws.createHostedZone(zone);
  }
  // The same name as a private zone (attached to a VPC), which certkeeper must not use.
  await aws.route53.send(
    new CreateHostedZoneCommand({
      Name: 'twin.example',
      CallerReference: `private-twin-${Date.now()}`,
      HostedZoneConfig: { PrivateZone: true, Comment: 'private twin' },
      VPC: { VPCRegion: 'us-east-1', VPCId: 'vpc-12345678' },
    }),
  );
  // A second account: moto keys its backends by account, and an assumed role's credentials act in the role's.
  otherAccount = new Route53Client({
    endpoint: stack.motoEndpoint,
    region: 'us-east-1',
    credentials: fromTemporaryCredentials({
      masterCredentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      params: { RoleArn: ROLE_ARN, RoleSessionName: 'fixture' },
      clientConfig: { region: 'us-east-1', endpoint: stack.motoEndpoint },
    }),
  });
  const created = await otherAccount.send(new CreateHostedZoneCommand({ Name: 'other.example', CallerReference: `other-${Date.now()}` }));
  zoneIds['other.example'] = created.HostedZone!.Id!.replace('/hostedzone/', '');
  const validation = await otherAccount.send(new CreateHostedZoneCommand({ Name: 'acme-validation.example', CallerReference: `validation-${Date.now()}` }));
  zoneIds['acme-validation.example'] = validation.HostedZone!.Id!.replace('/hostedzone/', '');
  await stack.dns.addAccount(otherAccount);
});

afterAll(async () => {
  await faithful?.stop();
  await stack?.stop();
});

describe('one pass renewing several certificates through Route 53 as it really behaves', () => {
  let run: CliResult;
  let calls: Route53Faithful['calls'];
  const names = ['batch-a', 'batch-b', 'batch-c', 'deleg', 'twin', 'other', 'cross'];

  beforeAll(async () => {
    // certkeeper allowed 8/s against the layer's 3/s: throttling is certain, even on a loaded machine that spreads
    // the calls out (5/s was not, once the preflight and the adaptive bucket spaced them), and must not surface.
    faithful.configure({ insyncAfterMs: [1_000, 2_000], requestsPerSecond: 3, priorRequestNotComplete: 2 });
    await upsertCname(zoneIds['deleg.example']!, '_acme-challenge.www.deleg.example', 'www.validation.example');
    // Delegated into a validation zone of the second account, reached through route53.zones' role.
    await upsertCname(zoneIds['deleg.example']!, '_acme-challenge.cross.deleg.example', 'cross.acme-validation.example');
    ({ result: run, calls } = await callsDuring(() =>
      // Fewer slots than certificates: renewals waiting on Route 53 give theirs up, so all seven still meet.
      renew('pass', {
        concurrency: 2,
        route53: { requestsPerSecond: 8, zones: [{ hostedZoneId: zoneIds['acme-validation.example'], roleArn: ROLE_ARN }] },
        certificates: [
          certificate('batch-a', ['a.batch.example']),
          certificate('batch-b', ['b.batch.example']),
          certificate('batch-c', ['batch.example', '*.batch.example']),
          certificate('deleg', ['www.deleg.example']),
          certificate('twin', ['twin.example']),
          certificate('other', ['other.example'], { roleArn: ROLE_ARN }),
          certificate('cross', ['cross.deleg.example']),
        ],
      }),
    ));
    faithful.configure({ insyncAfterMs: 0, requestsPerSecond: undefined, priorRequestNotComplete: 0 });
  }, 240_000);

  it('renews every certificate, surviving Throttling and PriorRequestNotComplete', () => {
    expect(run.code, run.stdout + run.stderr).toBe(0);
    for (const name of names) expect(eventsNamed(run.events, 'renewal.succeeded', name), name).toHaveLength(1);
    expect(calls.filter((call) => call.throttled).length).toBeGreaterThan(0);
    // The two injected PriorRequestNotComplete answers were retried: the layer has none left to give.
    expect(run.stderr).not.toMatch(/Rate exceeded|PriorRequestNotComplete/);
  });

  it('batches: one change per zone for every renewal of the pass (more than `concurrency`), one INSYNC wait per change, PENDING waited out', () => {
    const changes = calls.filter((call) => call.action === 'ChangeResourceRecordSets' && !call.throttled);
    const presented = run.events.filter((event) => event.event === 'dns.challenge.presented');
    const changeIds = new Set(presented.flatMap((event) => event.changeIds as string[]));
    const zones = new Set(presented.map((event) => event.hostedZoneId));
    // Seven certificates whose challenges fall in fewer zones (one zone holds three of them), two at work at
    // a time: the pass waited for every renewal to order, then wrote each zone once.
    expect(zones.size).toBeLessThan(7);
    expect(changeIds.size).toBe(zones.size);
    for (const zone of zones) {
      expect(new Set(presented.filter((event) => event.hostedZoneId === zone).flatMap((event) => event.changeIds as string[])).size, String(zone)).toBe(1);
    }
    // Cleaning up: one change per zone as well, after every renewal of the pass has validated.
    const cleaned = run.events.filter((event) => event.event === 'dns.challenge.cleaned');
    for (const zone of zones) {
      expect(new Set(cleaned.filter((event) => event.hostedZoneId === zone).flatMap((event) => event.changeIds as string[])).size, String(zone)).toBe(1);
    }
    // Presenting and cleaning up, plus the two injected PriorRequestNotComplete refusals, and no more.
    expect(changes.length).toBeLessThanOrEqual(2 * zones.size + 2);
    // Each change was PENDING for at least a second and polled again until INSYNC, once per change.
    const polls = calls.filter((call) => call.action === 'GetChange' && !call.throttled);
    expect(polls.length).toBeGreaterThan(changeIds.size);
  });

  it('writes a CNAME-delegated challenge at its target in the validation zone', () => {
    const [delegated] = eventsNamed(run.events, 'dns.challenge.delegated', 'deleg');
    expect(delegated).toMatchObject({ chain: ['_acme-challenge.www.deleg.example', 'www.validation.example'], hostedZoneId: zoneIds['validation.example'] });
    const [presented] = eventsNamed(run.events, 'dns.challenge.presented', 'deleg');
    expect(presented).toMatchObject({ hostedZoneId: zoneIds['validation.example'], records: ['www.validation.example'] });
  });

  it("follows a CNAME into a validation zone of another account, through route53.zones' role", async () => {
    expect(eventsNamed(run.events, 'dns.challenge.delegated', 'cross')[0]).toMatchObject({ hostedZoneId: zoneIds['acme-validation.example'] });
    expect(eventsNamed(run.events, 'dns.challenge.presented', 'cross')[0]).toMatchObject({
      hostedZoneId: zoneIds['acme-validation.example'],
      records: ['cross.acme-validation.example'],
    });
    const leftovers = (await new Route53Zones(otherAccount).recordSets(zoneIds['acme-validation.example']!)).filter((set) => set.type === 'TXT');
    expect(leftovers).toEqual([]);
  });

  it('uses the public zone of a name that also has a private zone, and says so', () => {
    const [warning] = run.events.filter((event) => event.event === 'dns.zone.private_ignored');
    expect(warning).toMatchObject({ level: 'warn', hostedZoneId: zoneIds['twin.example'] });
    expect(eventsNamed(run.events, 'dns.challenge.presented', 'twin')[0]).toMatchObject({ hostedZoneId: zoneIds['twin.example'] });
  });

  it("assumes the certificate's role and writes in the second account's zone", async () => {
    expect(eventsNamed(run.events, 'dns.challenge.presented', 'other')[0]).toMatchObject({ hostedZoneId: zoneIds['other.example'], zone: 'other.example' });
    expect(calls.some((call) => call.action === 'ChangeResourceRecordSets')).toBe(true);
    // The default account has no such zone; the second account's holds nothing left over.
    expect((await aws.route53.send(new ListZones())).HostedZones?.map((zone) => zone.Name)).not.toContain('other.example.');
    const leftovers = (await new Route53Zones(otherAccount).recordSets(zoneIds['other.example']!)).filter((set) => set.type === 'TXT');
    expect(leftovers).toEqual([]);
  });

  it('leaves no challenge record anywhere', async () => {
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    const validation = await aws.listTxtRecords(zoneIds['validation.example']!);
    expect(validation).toEqual([]);
  });
});

// ListHostedZones with the default credentials (the fixtures' client).
import { ListHostedZonesCommand as ListZones } from '@aws-sdk/client-route-53';

describe('failures say what went wrong and leave nothing behind', () => {
  function failure(result: CliResult, name: string): AuditEvent {
    expect(result.code).toBe(1);
    const [failed] = eventsNamed(result.events, 'renewal.failed', name);
    expect(failed, result.stderr).toBeDefined();
    return failed!;
  }

  it('a change never INSYNC fails after route53.insyncTimeoutSeconds, naming zone and change', async () => {
    faithful.configure({ insyncAfterMs: 600_000 });
    try {
      const result = await renew('insync', { route53: { insyncTimeoutSeconds: 2 }, certificates: [certificate('slow', ['slow.batch.example'])] });
      expect(failure(result, 'slow').error).toMatch(
        new RegExp(
          `Route 53 change /change/FAITHFUL\\d+ in hosted zone ${zoneIds['batch.example']} \\(batch\\.example\\) was still PENDING after 2 s \\(route53\\.insyncTimeoutSeconds\\)`,
        ),
      );
      expect(eventsNamed(result.events, 'acme.challenges.valid')).toEqual([]);
    } finally {
      faithful.configure({ insyncAfterMs: 0 });
    }
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('a nameserver serving stale TXT values fails the propagation check, naming it and what it returned', async () => {
    stack.dns.staleTxt.set('_acme-challenge.stale.example', ['an-old-value']);
    try {
      const result = await renew('stale', { route53: { propagation: { timeoutSeconds: 2 } }, certificates: [certificate('stale', ['stale.example'])] });
      expect(failure(result, 'stale').error).toMatch(
        new RegExp(
          `propagation check: nameserver 127\\.0\\.0\\.1:${stack.dnsPort} of zone stale\\.example \\(${zoneIds['stale.example']}\\) still answers \\["an-old-value"\\] for _acme-challenge\\.stale\\.example after 2 s`,
        ),
      );
      // The CA was never asked to validate a value the nameserver does not serve.
      expect(eventsNamed(result.events, 'acme.challenges.valid')).toEqual([]);
    } finally {
      stack.dns.staleTxt.clear();
    }
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('a nameserver answering SERVFAIL for a while is asked again; one that keeps failing fails the check, naming it and the error', async () => {
    // Two SERVFAILs, then the real answer: the check waits them out and the renewal goes on.
    stack.dns.servfailTxt.set('_acme-challenge.flaky.example', 2);
    try {
      const recovered = await renew('flaky', { route53: { propagation: { timeoutSeconds: 30 } }, certificates: [certificate('flaky', ['flaky.example'])] });
      expect(recovered.code, recovered.stderr).toBe(0);
      expect(stack.dns.servfailTxt.get('_acme-challenge.flaky.example')).toBe(0);
      expect(eventsNamed(recovered.events, 'renewal.succeeded', 'flaky')).toHaveLength(1);
      // Every SERVFAIL, as long as it lasts: a clear error before the CA is asked to validate. (A name of
      // its own in each case: the CA may reuse a valid authorization, and then nothing is presented.)
      stack.dns.servfailTxt.set('_acme-challenge.down.flaky.example', Infinity);
      const failed = await renew('flaky-down', { route53: { propagation: { timeoutSeconds: 2 } }, certificates: [certificate('flaky-down', ['down.flaky.example'])] });
      expect(failure(failed, 'flaky-down').error).toMatch(
        new RegExp(
          `propagation check: nameserver 127\\.0\\.0\\.1:${stack.dnsPort} of zone flaky\\.example \\(${zoneIds['flaky.example']}\\) still answers an error \\(ESERVFAIL\\) for _acme-challenge\\.down\\.flaky\\.example after 2 s`,
        ),
      );
      expect(eventsNamed(failed.events, 'acme.challenges.valid')).toEqual([]);
      // A nameserver that does not serve the zone at all (REFUSED): waiting will not help, so the check fails at
      // once with that reason, not with 'still answers … after 60 s'.
      stack.dns.servfailTxt.clear();
      stack.dns.ignoreZones.add('flaky.example');
      const refused = await renew('flaky-refused', { route53: { propagation: { timeoutSeconds: 60 } }, certificates: [certificate('flaky-refused', ['refused.flaky.example'])] });
      expect(failure(refused, 'flaky-refused').error).toMatch(
        /nameserver 127\.0\.0\.1:\d+ of zone flaky\.example .* answers REFUSED for _acme-challenge\.refused\.flaky\.example: it does not serve this zone/,
      );
    } finally {
      stack.dns.servfailTxt.clear();
      stack.dns.ignoreZones.delete('flaky.example');
    }
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('a CNAME loop is detected before anything is written, naming the chain', async () => {
    await upsertCname(zoneIds['deleg.example']!, '_acme-challenge.loop.deleg.example', 'hop.validation.example');
    await upsertCname(zoneIds['validation.example']!, 'hop.validation.example', '_acme-challenge.loop.deleg.example');
    const result = await renew('loop', { certificates: [certificate('loop', ['loop.deleg.example'])] });
    // Found by the preflight, which adds where in the config to look.
    expect(failure(result, 'loop').error).toBe(
      'CNAME loop for the DNS-01 challenge: _acme-challenge.loop.deleg.example → hop.validation.example → _acme-challenge.loop.deleg.example; fix the CNAME records so the chain ends at a name that can hold TXT records: check certificates[0].domains and certificates[0].route53 (hostedZoneId, roleArn)',
    );
    expect(eventsNamed(result.events, 'acme.order.created')).toEqual([]);
    expect(eventsNamed(result.events, 'dns.challenge.presented')).toEqual([]);
  });
});

describe('the solver shared by concurrent renewals (real modules against moto through the layer)', () => {
  let restoreEnv: () => void;
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    pretty: false,
    stream: new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
        done();
      },
    }),
  });
  const solverFor = (aws: AwsClients) => new Route53Solver(new Route53Accounts(aws, 5), { pollIntervalMs: 200 });

  beforeAll(() => {
    restoreEnv = stack.applyEnv();
    process.env.AWS_ENDPOINT_URL_ROUTE_53 = faithful.url;
  });
  afterAll(() => {
    delete process.env.AWS_ENDPOINT_URL_ROUTE_53;
    restoreEnv();
  });

  it('coalesces eight concurrent presents in one zone into one change and one INSYNC poll loop', async () => {
    const clients = new AwsClients('us-east-1');
    const solver = solverFor(clients);
    faithful.configure({ insyncAfterMs: 500 });
    try {
      const zoneId = zoneIds['shared.example']!;
      // As the issuer passes them: with the zone's size from the listing (SOA + NS: one page to read).
      const records = Array.from({ length: 8 }, (_, index) => [
        { zoneId, zoneName: 'shared.example', zoneRecordSetCount: 2, name: `_acme-challenge.n${index}.shared.example`, value: `value-${index}` },
      ]);
      const { calls } = await callsDuring(() => Promise.all(records.map((record) => solver.present(record, log))));
      expect(calls.filter((call) => call.action === 'ChangeResourceRecordSets')).toHaveLength(1);
      // The names' current values: one page of the zone, not one call per name.
      expect(calls.filter((call) => call.action === 'ListResourceRecordSets')).toHaveLength(1);
      const presented = lines.filter((line) => line.event === 'dns.challenge.presented');
      expect(new Set(presented.flatMap((line) => line.changeIds as string[])).size).toBe(1);
      const { calls: cleanup } = await callsDuring(() => Promise.all(records.map((record) => solver.cleanup(record, log))));
      expect(cleanup.filter((call) => call.action === 'ChangeResourceRecordSets')).toHaveLength(1);
      expect(await aws.listTxtRecords(zoneId)).toEqual([]);
    } finally {
      faithful.configure({ insyncAfterMs: 0 });
      clients.destroy();
    }
  });

  it('waits for renewals still ordering and still validating: presents, and clean-ups, seconds apart share one change', async () => {
    const clients = new AwsClients('us-east-1');
    const solver = solverFor(clients);
    faithful.configure({ insyncAfterMs: 500 });
    try {
      const zoneId = zoneIds['shared.example']!;
      const records = Array.from({ length: 3 }, (_, index) => [
        { zoneId, zoneName: 'shared.example', zoneRecordSetCount: 2, name: `_acme-challenge.late${index}.shared.example`, value: `late-${index}` },
      ]);
      // Three renewals of one pass start ordering; the CA answers them 0, 0.4 and 0.8 s apart (far
      // beyond the 50 ms batch window), and a fourth finds it has nothing to present.
      const onTheWay = records.map(() => solver.expectPresent());
      const idle = solver.expectPresent();
      const { calls } = await callsDuring(() =>
        Promise.all([
          ...records.map(async (record, index) => {
            await new Promise((resolve) => setTimeout(resolve, index * 400));
            await solver.present(record, log, { arrived: onTheWay[index] });
          }),
          new Promise((resolve) => setTimeout(resolve, 200)).then(idle),
        ]),
      );
      expect(calls.filter((call) => call.action === 'ChangeResourceRecordSets')).toHaveLength(1);
      const presented = lines.filter((line) => line.event === 'dns.challenge.presented' && String((line.records as string[])[0]).includes('late'));
      expect(new Set(presented.flatMap((line) => line.changeIds as string[])).size).toBe(1);
      // Clean-ups 1.5 s apart (far beyond the 50 ms batch window): the first waits for the values still up.
      const { calls: cleanup } = await callsDuring(() =>
        Promise.all(
          records.map(async (record, index) => {
            await new Promise((resolve) => setTimeout(resolve, index * 1_500));
            await solver.cleanup(record, log);
          }),
        ),
      );
      expect(cleanup.filter((call) => call.action === 'ChangeResourceRecordSets')).toHaveLength(1);
      expect(await aws.listTxtRecords(zoneId)).toEqual([]);
    } finally {
      faithful.configure({ insyncAfterMs: 0 });
      clients.destroy();
    }
  });

  it('a renewal whose certificate is about to expire waits for no straggler: its values go at once, the straggler gets a change of its own', async () => {
    const clients = new AwsClients('us-east-1');
    // Gathering that would hold a batch for a minute while a renewal of the pass is still ordering.
    const solver = new Route53Solver(new Route53Accounts(clients, 5), { pollIntervalMs: 200, gather: { idleMs: 60_000, maxMs: 60_000 } });
    try {
      const zoneId = zoneIds['shared.example']!;
      const record = (name: string) => [{ zoneId, zoneName: 'shared.example', name: `_acme-challenge.${name}.shared.example`, value: `${name}-value` }];
      const straggler = solver.expectPresent();
      const urgent = solver.expectPresent();
      // Served for 20 s more: it may wait a tenth of that for the straggler, not the minute of gathering.
      const presented = solver.present(record('expiring'), log, { arrived: urgent, servedUntil: new Date(Date.now() + 20_000) });
      const heldTooLong = new Promise((_, reject) => setTimeout(() => reject(new Error('held for the straggler')), 15_000).unref());
      await Promise.race([presented, heldTooLong]);
      await solver.present(record('straggler'), log, { arrived: straggler });
      const changes = lines
        .filter((line) => line.event === 'dns.challenge.presented' && /expiring|straggler/.test(String((line.records as string[])[0])))
        .map((line) => (line.changeIds as string[])[0]);
      expect(changes).toHaveLength(2);
      expect(new Set(changes).size).toBe(2);
      await solver.cleanup([...record('expiring'), ...record('straggler')], log);
      expect((await aws.listTxtRecords(zoneId)).filter((set) => /expiring|straggler/.test(set.name))).toEqual([]);
    } finally {
      clients.destroy();
    }
  });

  it('one renewal cancelled while waiting for INSYNC stops alone: the others of its change still wait it out', async () => {
    const clients = new AwsClients('us-east-1');
    const solver = solverFor(clients);
    faithful.configure({ insyncAfterMs: 1_500 });
    try {
      const zoneId = zoneIds['shared.example']!;
      const record = (name: string) => [{ zoneId, zoneName: 'shared.example', name: `_acme-challenge.${name}.shared.example`, value: `${name}-value` }];
      const cancel = new AbortController();
      const [cancelled, kept] = await Promise.allSettled([
        solver.present(record('lease-lost'), log, { signal: cancel.signal }),
        solver.present(record('lease-kept'), log),
        new Promise((resolve) => setTimeout(resolve, 500)).then(() => cancel.abort(new Error('lost the lease'))),
      ]);
      expect(cancelled).toMatchObject({ status: 'rejected', reason: expect.objectContaining({ message: 'lost the lease' }) });
      expect(kept.status).toBe('fulfilled');
      // They shared one change: the kept one waited the whole PENDING time out on the shared poll.
      const presented = lines.filter((line) => line.event === 'dns.challenge.presented' && String((line.records as string[])[0]).includes('lease-'));
      expect(new Set(presented.flatMap((line) => line.changeIds as string[])).size).toBe(1);
      await solver.cleanup([...record('lease-lost'), ...record('lease-kept')], log);
    } finally {
      faithful.configure({ insyncAfterMs: 0 });
      clients.destroy();
    }
  });

  it('a clean-up waits only for values up in its own zone, and values to add never wait for clean-ups', async () => {
    const clients = new AwsClients('us-east-1');
    const solver = solverFor(clients);
    try {
      const inZone = (zone: string, name: string) => [{ zoneId: zoneIds[zone]!, zoneName: zone, name: `_acme-challenge.${name}.${zone}`, value: `${name}-value` }];
      const [mine, elsewhere] = [inZone('shared.example', 'own-zone'), inZone('flaky.example', 'other-zone')];
      await Promise.all([solver.present(mine, log), solver.present(elsewhere, log)]);
      // flaky.example's value is still up (its renewal still validating): shared.example's clean-up does not wait for it.
      const started = Date.now();
      await solver.cleanup(mine, log);
      expect(Date.now() - started).toBeLessThan(5_000);
      // A value to add that arrives while a clean-up in its zone waits for the others goes out at once.
      const late = inZone('flaky.example', 'late-add');
      const waitingCleanup = solver.cleanup(inZone('flaky.example', 'not-up-yet'), log);
      const added = Date.now();
      await solver.present(late, log);
      expect(Date.now() - added).toBeLessThan(5_000);
      await Promise.all([waitingCleanup, solver.cleanup([...elsewhere, ...late], log)]);
      expect((await aws.listTxtRecords(zoneIds['flaky.example']!)).filter((set) => /own-zone|other-zone|late-add/.test(set.name))).toEqual([]);
    } finally {
      clients.destroy();
    }
  });

  it("two runs sharing a name: one's clean-up leaves the other's value", async () => {
    const [first, second] = [new AwsClients('us-east-1'), new AwsClients('us-east-1')];
    const zoneId = zoneIds['shared.example']!;
    const name = '_acme-challenge.both.shared.example';
    try {
      await Promise.all([
        solverFor(first).present([{ zoneId, zoneName: 'shared.example', name, value: 'first-run' }], log),
        solverFor(second).present([{ zoneId, zoneName: 'shared.example', name, value: 'second-run' }], log),
      ]);
      expect((await aws.listTxtRecords(zoneId)).find((set) => set.name === name)?.values.sort()).toEqual(['first-run', 'second-run']);
      await solverFor(first).cleanup([{ zoneId, zoneName: 'shared.example', name, value: 'first-run' }], log);
      expect((await aws.listTxtRecords(zoneId)).find((set) => set.name === name)?.values).toEqual(['second-run']);
      await solverFor(second).cleanup([{ zoneId, zoneName: 'shared.example', name, value: 'second-run' }], log);
      expect(await aws.listTxtRecords(zoneId)).toEqual([]);
    } finally {
      first.destroy();
      second.destroy();
    }
  });
});
