import { X509Certificate } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import acme from 'acme-client';
import type { TxtAnswer } from 'dns-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures } from './aws-fixtures.js';
import { isProcessAlive, runningChildPids } from './child-processes.js';
import { queryDns } from './dns-query.js';
import { httpsGet } from './https-get.js';
import { startStack, type Stack } from './stack.js';

const ZONE = 'stacktest.example';
const CHALLENGE = `_acme-challenge.${ZONE}`;
const VALUES = ['first-token-value', 'second-token-value'];

let stack: Stack;
let aws: AwsFixtures;
let zoneId: string;

beforeAll(async () => {
  stack = await startStack({ ignoreZones: ['ignored.stacktest.example'], pebble: { validitySeconds: 3_600 } });
  console.info(`test stack started in ${stack.startupMs} ms`);
  aws = awsFixtures(stack.motoEndpoint);
  zoneId = await aws.createHostedZone(ZONE);
  await aws.upsertTxtRecord(zoneId, CHALLENGE, VALUES);
});

afterAll(async () => {
  if (!stack) return;
  await stack.stop();
  for (const pid of stack.pids) expect(isProcessAlive(pid), `process ${pid} still running`).toBe(false);
  expect(runningChildPids()).toEqual([]);
});

const txtTexts = (answers: unknown[] | undefined): string[] =>
  ((answers as TxtAnswer[] | undefined) ?? [])
    .filter((answer) => answer.type === 'TXT')
    .map((answer) => [answer.data].flat().map(String).join(''))
    .sort();

describe('DNS server reading Route 53 in moto', () => {
  it.each(['udp', 'tcp'] as const)('serves every value of a TXT record set over %s', async (transport) => {
    const response = await queryDns({ port: stack.dnsPort, name: CHALLENGE, type: 'TXT', transport });
    expect(response.rcode).toBe('NOERROR');
    expect(response.flag_aa).toBe(true);
    expect(txtTexts(response.answers)).toEqual(VALUES);
  });

  it('is usable as a node:dns resolver', async () => {
    const resolver = new Resolver({ timeout: 1_000, tries: 1 });
    resolver.setServers([`127.0.0.1:${stack.dnsPort}`]);
    expect((await resolver.resolveTxt(CHALLENGE)).map((strings) => strings.join('')).sort()).toEqual(VALUES);
    // moto's made-up SOA: `ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400`, whatever the zone.
    expect((await resolver.resolveSoa(ZONE)).minttl).toBe(86_400);
    expect((await resolver.resolveNs(ZONE)).length).toBeGreaterThan(0);
  });

  it('serves a freshly written value at once, and joins a value split into several strings', async () => {
    const long = 'x'.repeat(300); // Route 53 holds it as two quoted strings, "xxx…" "xx…"
    await aws.upsertTxtRecord(zoneId, `_acme-challenge.fresh.${ZONE}`, [long]);
    const response = await queryDns({ port: stack.dnsPort, name: `_acme-challenge.fresh.${ZONE}`, type: 'TXT' });
    expect(txtTexts(response.answers)).toEqual([long]);
  });

  it('answers NXDOMAIN for a missing name, NODATA with the SOA for a missing type, REFUSED outside its zones', async () => {
    const missing = await queryDns({ port: stack.dnsPort, name: `_acme-challenge.missing.${ZONE}`, type: 'TXT' });
    expect(missing.rcode).toBe('NXDOMAIN');
    expect(missing.authorities?.[0]?.type).toBe('SOA');

    const nodata = await queryDns({ port: stack.dnsPort, name: CHALLENGE, type: 'A' });
    expect(nodata.rcode).toBe('NOERROR');
    expect(nodata.answers).toEqual([]);
    expect(nodata.authorities?.[0]?.type).toBe('SOA');

    const outside = await queryDns({ port: stack.dnsPort, name: 'example.org', type: 'TXT' });
    expect(outside.rcode).toBe('REFUSED');
  });

  it('answers a CNAME with the target record set when the target is in a served zone', async () => {
    const delegateZoneId = await aws.createHostedZone(`delegate.${ZONE}`);
    await aws.upsertTxtRecord(delegateZoneId, `_acme-challenge.app.delegate.${ZONE}`, ['delegated']);
    await aws.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: zoneId,
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: `_acme-challenge.app.${ZONE}`,
                Type: 'CNAME',
                TTL: 60,
                ResourceRecords: [{ Value: `_acme-challenge.app.delegate.${ZONE}` }],
              },
            },
          ],
        },
      }),
    );
    const response = await queryDns({ port: stack.dnsPort, name: `_acme-challenge.app.${ZONE}`, type: 'TXT' });
    expect(response.answers?.map((answer) => answer.type)).toEqual(['CNAME', 'TXT']);
    expect(txtTexts(response.answers)).toEqual(['delegated']);
  });

  it('pretends an ignored hosted zone was never delegated', async () => {
    const ignoredZoneId = await aws.createHostedZone(`ignored.${ZONE}`);
    await aws.upsertTxtRecord(ignoredZoneId, `_acme-challenge.ignored.${ZONE}`, ['unreachable']);
    const response = await queryDns({ port: stack.dnsPort, name: `_acme-challenge.ignored.${ZONE}`, type: 'TXT' });
    // Answered from the parent zone, which has no such name.
    expect(response.rcode).toBe('NXDOMAIN');
    expect(txtTexts(response.answers)).toEqual([]);
  });

  it('lists the _acme-challenge records of every zone', async () => {
    const records = await aws.listAcmeChallengeRecords();
    expect(records.find((record) => record.name === CHALLENGE)).toMatchObject({ zoneId, values: VALUES });
  });
});

describe('Pebble', () => {
  it('serves its directory over HTTPS trusted through the generated CA', async () => {
    const answer = await httpsGet(stack.directoryUrl, stack.caCertPath);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toHaveProperty('newOrder');
  });

  it('validates DNS-01 through the DNS server and issues for a name and its wildcard', async () => {
    const names = [`issue.${ZONE}`, `*.issue.${ZONE}`];
    const issueZoneId = await aws.createHostedZone(`issue.${ZONE}`);
    // acme-client runs in this process, which started before the CA existed: trust it explicitly.
    acme.axios.defaults.httpsAgent = new Agent({ ca: readFileSync(stack.caCertPath) });
    const client = new acme.Client({
      directoryUrl: stack.directoryUrl,
      accountKey: await acme.crypto.createPrivateEcdsaKey(),
      backoffMin: 50, // its default first poll interval is 5 s
      backoffMax: 500,
    });
    await client.createAccount({ termsOfServiceAgreed: true });
    const order = await client.createOrder({ identifiers: names.map((value) => ({ type: 'dns', value })) });
    const authorizations = await client.getAuthorizations(order);
    const challenges = authorizations.map((authorization) => authorization.challenges.find((challenge) => challenge.type === 'dns-01')!);
    // The name and its wildcard share `_acme-challenge.issue.…`: one record set with both values.
    const keys = await Promise.all(challenges.map((challenge) => client.getChallengeKeyAuthorization(challenge)));
    await aws.upsertTxtRecord(issueZoneId, `_acme-challenge.issue.${ZONE}`, keys);
    for (const challenge of challenges) await client.completeChallenge(challenge);
    for (const challenge of challenges) await client.waitForValidStatus(challenge);
    const [, csr] = await acme.crypto.createCsr({ altNames: names });
    const certificate = new X509Certificate(await client.getCertificate(await client.finalizeOrder(order, csr)));
    expect(certificate.subjectAltName).toContain(`DNS:*.issue.${ZONE}`);
    // certificateValidityPeriod is honoured: notAfter = notBefore + period - 1 s.
    expect((Date.parse(certificate.validTo) - Date.parse(certificate.validFrom)) / 1_000).toBe(3_599);
  });
});

describe('AWS fixtures on moto', () => {
  it('creates an HTTPS listener whose default certificate is the placeholder', async () => {
    const listener = await aws.createHttpsListener({ name: 'stacktest-alb' });
    expect(await aws.describeListenerCertificates(listener.listenerArn)).toEqual({
      defaultArn: listener.placeholderCertificateArn,
      sniArns: [],
    });
    const placeholder = await aws.describeAcm(listener.placeholderCertificateArn);
    expect(placeholder.Type).toBe('IMPORTED');
    expect(placeholder.KeyAlgorithm).toBe('EC_prime256v1');
    expect(placeholder.InUseBy).toEqual([listener.listenerArn]); // moto: the listener's ARN; real ACM: the load balancer's
  });
});
