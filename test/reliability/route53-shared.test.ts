import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AwsClients } from '../../src/aws/clients.js';
import { Route53Accounts } from '../../src/dns/route53-accounts.js';
import { Route53Solver } from '../../src/dns/route53-solver.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { deadlineSignal } from '../../src/util/deadline-signal.js';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { startRoute53Faithful, type Route53Faithful } from '../stack/route53-faithful.js';
import { startStack, type Stack } from '../stack/stack.js';
import { eventsNamed, runCli, type CliResult } from './output-log.js';
import { writeConfigFile } from '../e2e/config-file.js';

/**
 * Route 53 shared with other tools (issue 13, items 5 and 7): the account's budget is 1 request/s, not
 * the 5/s certkeeper assumes, and half the changes meet another tool's change still in progress
 * (PriorRequestNotComplete). Through the real CLI against Pebble, on the faithful layer in front of moto.
 */

const THROTTLING = /Rate exceeded|PriorRequestNotComplete|still processing a prior request/i;
let stack: Stack;
let faithful: Route53Faithful;
let aws: AwsFixtures;
let workDir: string;
const zoneIds: Record<string, string> = {};

beforeAll(async () => {
  stack = await startStack({ pebble: { env: { PEBBLE_AUTHZREUSE: '0' } } });
  faithful = await startRoute53Faithful(stack.motoEndpoint);
  aws = awsFixtures(stack.motoEndpoint);
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-route53-shared-'));
  for (const zone of ['busy.example', 'second.example', 'gateway.example', 'refused.example']) zoneIds[zone] = await aws.createHostedZone(zone);
});

afterAll(async () => {
  await faithful?.stop();
  await stack?.stop();
});

afterEach(() => {
  faithful.configure({ requestsPerSecond: undefined, priorRequestNotCompleteRate: 0, priorRequestNotComplete: 0, badGateway: undefined, rejectName: undefined, insyncAfterMs: 0 });
});

function renew(file: string, certificates: { name: string; domains: string[] }[], extra: string[] = []): Promise<CliResult> {
  const config = writeConfigFile(join(workDir, `${file}.config.mjs`), stack.directoryUrl, {
    stateDir: join(workDir, `state-${file}`),
    certificates: certificates.map((spec) => ({ ...spec, acm: [{ region: 'us-east-1' }] })),
  });
  return runCli(['renew', ...extra, '--config', config], { ...stack.env, AWS_ENDPOINT_URL_ROUTE_53: faithful.url });
}

/**
 * Another tool of the same account (external-dns, a deploy pipeline) reading Route 53 every 2 s with the
 * same credentials: half the account's budget of 1 request/s is gone before certkeeper asks.
 */
function anotherTool(): { stop: () => Promise<void> } {
  const client = new Route53Client({
    endpoint: faithful.url,
    region: 'us-east-1',
    maxAttempts: 1,
    credentials: { accessKeyId: stack.env.AWS_ACCESS_KEY_ID, secretAccessKey: stack.env.AWS_SECRET_ACCESS_KEY },
  });
  let running = true;
  const loop = (async () => {
    while (running) {
      await client.send(new GetHostedZoneCommand({ Id: zoneIds['busy.example'] })).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      client.destroy();
    },
  };
}

function succeeded(run: CliResult, names: string[]): void {
  for (const name of names) expect(eventsNamed(run.events, 'renewal.succeeded', name), `${name}\n${run.stdout}\n${run.stderr.slice(-3000)}`).toHaveLength(1);
}

describe('Route 53 shared with other tools', () => {
  it('at 1 request/s with PriorRequestNotComplete on half the changes, every renewal of two passes succeeds and none surfaces a throttling error', async () => {
    faithful.configure({ requestsPerSecond: 1, priorRequestNotCompleteRate: 0.5, insyncAfterMs: [500, 1_500] });
    const certificates = [
      ...['a', 'b', 'c', 'd'].map((label) => ({ name: `busy-${label}`, domains: [`${label}.busy.example`] })),
      ...['a', 'b'].map((label) => ({ name: `second-${label}`, domains: [`${label}.second.example`] })),
    ];
    const names = certificates.map((spec) => spec.name);
    const from = faithful.calls.length;
    const others = anotherTool();
    try {
      for (const extra of [[], ['--force']]) {
        const run = await renew('shared', certificates, extra);
        expect(run.code, run.stdout + run.stderr.slice(-3000)).toBe(0);
        succeeded(run, names);
        expect((run.stdout + run.stderr).split('\n').filter((line) => THROTTLING.test(line))).toEqual([]);
      }
    } finally {
      await others.stop();
    }
    // The layer did refuse: the budget was shared for real.
    const calls = faithful.calls.slice(from);
    expect(calls.filter((call) => call.throttled).length).toBeGreaterThan(0);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    // About half a request a second is left to certkeeper: two passes take 3-4 minutes on a busy 2-core machine.
  }, 480_000);

  it('an HTML 502 from Route 53 on a change is retried like a 5xx, and the renewal succeeds', async () => {
    faithful.configure({ badGateway: { action: 'ChangeResourceRecordSets', count: 2 } });
    const run = await renew('gateway-change', [{ name: 'gateway-change', domains: ['change.gateway.example'] }]);
    expect(run.code, run.stdout + run.stderr.slice(-3000)).toBe(0);
    succeeded(run, ['gateway-change']);
    expect(run.stdout + run.stderr).not.toMatch(/Cannot read properties|UnknownError/);
  });

  it('an HTML 502 that lasts, on ListHostedZones, fails the renewal in one line naming Route 53, what was expected and what came', async () => {
    faithful.configure({ badGateway: { action: 'ListHostedZones', count: 1_000 } });
    const run = await renew('gateway-list', [{ name: 'gateway-list', domains: ['list.gateway.example'] }]);
    expect(run.code).toBe(1);
    const [failed] = eventsNamed(run.events, 'renewal.failed', 'gateway-list');
    const error = JSON.stringify(failed);
    expect(error).toContain(faithful.url);
    expect(error).toMatch(/expected an XML answer to ListHostedZones/);
    expect(error).toMatch(/HTTP 502, text\/html: <html>/);
    expect(run.stdout + run.stderr).not.toMatch(/Cannot read properties|UnknownError/);
    const line = run.stdout.split('\n').find((entry) => entry.startsWith('gateway-list:'));
    expect(line).toMatch(/HTTP 502, text\/html/);
    expect(eventsNamed(run.events, 'acme.order.created')).toEqual([]);
  });

  it("a change refused for one certificate's value only is split: that renewal fails alone, the others of its zone succeed", async () => {
    faithful.configure({ rejectName: '_acme-challenge.bad.refused.example' });
    const run = await renew('refused', [
      { name: 'refused-a', domains: ['a.refused.example'] },
      { name: 'refused-bad', domains: ['bad.refused.example'] },
      { name: 'refused-b', domains: ['b.refused.example'] },
    ]);
    expect(run.code).toBe(1);
    succeeded(run, ['refused-a', 'refused-b']);
    const [failed] = eventsNamed(run.events, 'renewal.failed', 'refused-bad');
    expect(JSON.stringify(failed)).toMatch(/InvalidChangeBatch|Invalid Resource Record/);
    expect(await aws.listTxtRecords(zoneIds['refused.example']!)).toEqual([]);
  });
});

describe('the solver on Route 53 shared with other tools (real modules against moto through the layer)', () => {
  let restoreEnv: () => void;
  const log = createLogger({ level: 'error', stream: new Writable({ write: (_chunk, _encoding, done) => done() }) });
  const record = (zone: string, label: string) => [{ zoneId: zoneIds[zone]!, zoneName: zone, name: `_acme-challenge.${label}.${zone}`, value: `${label}-value` }];
  const changeCalls = () => faithful.calls.filter((call) => call.action === 'ChangeResourceRecordSets').length;

  beforeAll(() => {
    restoreEnv = stack.applyEnv();
    process.env.AWS_ENDPOINT_URL_ROUTE_53 = faithful.url;
  });
  afterAll(() => {
    delete process.env.AWS_ENDPOINT_URL_ROUTE_53;
    restoreEnv();
  });

  it('a change refused on all of the old 10 attempts is retried while its renewal has time, and succeeds', async () => {
    const clients = new AwsClients('us-east-1');
    const solver = new Route53Solver(new Route53Accounts(clients, 5), { pollIntervalMs: 200 });
    try {
      faithful.configure({ priorRequestNotComplete: 10 });
      const before = changeCalls();
      await solver.present(record('busy.example', 'patient'), log, { signal: deadlineSignal(120_000) });
      expect(changeCalls() - before).toBe(11);
      await solver.cleanup(record('busy.example', 'patient'), log);
    } finally {
      clients.destroy();
    }
  });

  it('before an order, a renewal waits while Route 53 refuses a change in its zone, and goes on once the change is accepted', async () => {
    const clients = new AwsClients('us-east-1');
    const solver = new Route53Solver(new Route53Accounts(clients, 5), { pollIntervalMs: 200 });
    try {
      faithful.configure({ priorRequestNotComplete: 4 });
      const before = changeCalls();
      const presented = solver.present(record('second.example', 'first'), log, { signal: deadlineSignal(120_000) });
      // The zone's change was refused and is being tried again: Route 53 is refusing the zone now.
      while (changeCalls() - before < 2) await new Promise((resolve) => setTimeout(resolve, 20));
      const zone = { id: zoneIds['second.example']!, name: 'second.example' };
      await solver.untilZonesAccept([zone], deadlineSignal(120_000));
      // It went on only once the change got through: four refusals, then the accepted one.
      expect(changeCalls() - before).toBe(5);
      await presented;
      // A zone nobody is being refused in: at once.
      await solver.untilZonesAccept([{ id: zoneIds['busy.example']!, name: 'busy.example' }]);
      await solver.cleanup(record('second.example', 'first'), log);
    } finally {
      clients.destroy();
    }
  });
});
