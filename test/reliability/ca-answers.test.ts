import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { selfSignedCertificate } from '../stack/tls.js';
import type { ForwardedAnswer } from '../stack/forward-request.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, runCli } from './output-log.js';

/**
 * Malformed answers from the CA: the fault proxy rewrites Pebble's certificate download. Each must be
 * refused before anything reaches ACM (no ImportCertificate call), with a clear error; the deployed
 * certificate stays and no challenge record is left.
 */

let rel: ReliabilityStack;
let listener: HttpsListener;
let path: string;
/** Real downloads kept from earlier orders: for other names, and for the same names with another key. */
let otherNamesChain: string;
let sameNamesOtherKeyChain: string;

const downloads: string[] = [];
const isDownload = (call: { action: string; method: string }) => call.action === 'certZ' && call.method === 'POST';

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('answers.example');
  listener = await rel.aws.createHttpsListener({ name: 'alb-answers' });
  rel.acme.add({ match: isDownload, fault: { rewrite: (answer) => (downloads.push(answer.body.toString('utf8')), answer) } });
  const other = writeConfig(rel, 'other.config.mjs', {
    stateDir: `${rel.workDir}/other-state`,
    certificates: [{ name: 'other', domains: ['other.answers.example'], acm: [{ region: 'us-east-1', listeners: [] }] }],
  });
  expect((await runCli(['renew', '--config', other], rel.env)).code).toBe(0);
  otherNamesChain = downloads.at(-1)!;
  path = writeConfig(rel, 'answers.config.mjs', {
    certificates: [{ name: 'www', domains: ['www.answers.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
  });
  const first = await runCli(['renew', '--config', path], rel.env);
  expect(first.code, first.stderr).toBe(0);
  sameNamesOtherKeyChain = downloads.at(-1)!;
  rel.acme.clear();
});

afterEach(() => rel.acme.clear());

afterAll(async () => {
  await rel?.stop();
});

const pems = (chain: string) => chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
const withBody = (answer: ForwardedAnswer, body: string): ForwardedAnswer => ({ ...answer, body: Buffer.from(body) });

const cases: [string, (answer: ForwardedAnswer) => Promise<ForwardedAnswer> | ForwardedAnswer, RegExp][] = [
  ['bad PEM', (answer) => withBody(answer, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n'), /cannot be parsed/],
  ['no certificate at all', (answer) => withBody(answer, 'Service temporarily unavailable\n'), /no certificate/],
  [
    'a chain that does not sign the leaf',
    async (answer) => {
      const [leaf] = pems(answer.body.toString('utf8'));
      const stranger = await selfSignedCertificate('Stranger Intermediate CA');
      return withBody(answer, `${leaf}${stranger.certificatePem}`);
    },
    /chain/,
  ],
  ['a certificate for other names than ordered', (answer) => withBody(answer, otherNamesChain), /other\.answers\.example but www\.answers\.example was ordered/],
  ['a certificate for another key (same names)', (answer) => withBody(answer, sameNamesOtherKeyChain), /public key does not match/],
];

describe('malformed answers from the CA', () => {
  it.each(cases)('%s: refused before ACM, a clear error, nothing left', async (_label, rewrite, why) => {
    const before = (await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn;
    const start = rel.awsProxy.calls.length;
    rel.acme.add({ match: isDownload, fault: { rewrite } });
    const run = await runCli(['renew', '--force', '--ignore-rate-limits', '--config', path], rel.env);
    expect(run.code, run.stderr).toBe(1);
    const error = String(eventsNamed(run.events, 'renewal.failed', 'www')[0]?.error);
    expect(error).toMatch(why);
    expect(error).not.toMatch(/\n\s+at /);
    expect(rel.awsProxy.calls.slice(start).filter((call) => call.action === 'ImportCertificate')).toEqual([]);
    expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBe(before);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
