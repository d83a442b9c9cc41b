import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { eventsNamed, runCli } from './cli.js';
import { writeConfigFile } from './config-file.js';

/**
 * The propagation check fails open when it cannot ask: after INSYNC, a nameserver whose name does not
 * resolve, or that never answers, leaves the check unverified (`dns.propagation.unverified`, once per
 * pass and zone) and the renewal goes on. (Nameservers that answer stale values, SERVFAIL or REFUSED
 * still fail the renewal: route53-scale.test.ts.)
 */

let stack: Stack;
let aws: AwsFixtures;
let workDir: string;
const zoneIds: Record<string, string> = {};
/** Receives DNS queries and never answers. */
let blackHole: Socket;
/** A UDP port nothing listens on (ICMP port unreachable). */
let closedPort: number;

beforeAll(async () => {
  stack = await startStack();
  aws = awsFixtures(stack.motoEndpoint);
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-unverified-'));
  for (const zone of ['walled.example', 'garden.example', 'mixed.example']) zoneIds[zone] = await aws.createHostedZone(zone);
  blackHole = await boundUdpSocket();
  const closing = await boundUdpSocket();
  closedPort = closing.address().port;
  await new Promise<void>((resolve) => closing.close(() => resolve()));
});

afterAll(async () => {
  blackHole?.close();
  await stack?.stop();
});

function boundUdpSocket(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve(socket)));
}

function config(file: string, certificates: { name: string; domain: string }[], route53?: Record<string, unknown>): string {
  return writeConfigFile(join(workDir, `${file}.config.mjs`), stack.directoryUrl, {
    stateDir: join(workDir, `state-${file}`),
    ...(route53 && { route53 }),
    certificates: certificates.map(({ name, domain }) => ({ name, domains: [domain], acm: [{ region: 'us-east-1' }] })),
  });
}

describe('the propagation check when it cannot ask', () => {
  it("the zones' own nameservers do not resolve (route53.propagation.resolvers unset): renewals succeed, one warning per zone", async () => {
    const path = config('walled', [
      { name: 'walled-a', domain: 'a.walled.example' },
      { name: 'walled-b', domain: 'b.walled.example' },
      { name: 'garden', domain: 'www.garden.example' },
    ]);
    // Without the stack's DNS server as resolver, the check asks moto's delegation set (ns-2048.awsdns-64.com…).
    const { CERTKEEPER_TEST_DNS_RESOLVER: _unset, ...env } = stack.env;
    const run = await runCli(['renew', '--config', path], { ...env, CERTKEEPER_TEST_DNS_RESOLVER: '' });
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.succeeded')).toHaveLength(3);
    const warnings = eventsNamed(run.events, 'dns.propagation.unverified');
    // Once per pass and zone, however many renewals of the pass wrote into the zone.
    expect(warnings.map((warning) => warning.zone).sort()).toEqual(['garden.example', 'walled.example']);
    for (const warning of warnings) {
      expect(warning.level).toBe('warn');
      expect(warning.hostedZoneId).toBe(zoneIds[warning.zone as string]);
      expect(warning.runId).toBe(eventsNamed(run.events, 'pass.started')[0]!.runId);
      expect(warning.nameservers).toEqual(expect.arrayContaining([expect.stringMatching(/^ns-\d+\.awsdns-\d+\./)]));
      expect(String(warning.reason)).toMatch(/^ns-\d+\.awsdns-\d+\.\S+: its name does not resolve \(/);
    }
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });

  it('of three resolvers, one answers, one never answers and one is not listening: the one that answers is checked, the others are said', async () => {
    const silent = `127.0.0.1:${blackHole.address().port}`;
    const closed = `127.0.0.1:${closedPort}`;
    const path = config('mixed', [{ name: 'mixed', domain: 'www.mixed.example' }], {
      propagation: { resolvers: [`127.0.0.1:${stack.dnsPort}`, silent, closed], timeoutSeconds: 30 },
    });
    const run = await runCli(['renew', '--config', path], stack.env);
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'mixed')).toHaveLength(1);
    const [warning, ...more] = eventsNamed(run.events, 'dns.propagation.unverified', 'mixed');
    expect(more).toEqual([]);
    expect(warning).toMatchObject({ zone: 'mixed.example', hostedZoneId: zoneIds['mixed.example'], nameservers: [silent, closed] });
    expect(String(warning!.reason)).toBe(`${silent}: no answer to 3 queries (ETIMEOUT); ${closed}: no answer to 3 queries (ECONNREFUSED)`);
    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
