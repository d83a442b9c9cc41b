import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpsListener } from '../stack/aws-fixtures.js';
import { selfSignedCertificate } from '../stack/tls.js';
import type { ForwardedAnswer } from '../stack/forward-request.js';
import { needingChallenge, startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
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
  const otherRun = await runCli(['renew', '--config', other], rel.env);
  expect(otherRun.code, otherRun.stderr + otherRun.stdout).toBe(0);
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
  [
    'no certificate at all',
    (answer) => withBody(answer, 'Service temporarily unavailable\n'),
    /answered POST https:\/\/127\.0\.0\.1:\d+\/certZ\/\S+: expected a PEM certificate chain, came HTTP 200, application\/pem-certificate-chain, no certificate: Service temporarily unavailable$/,
  ],
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
    // Some answers are read only while the CA validates a challenge, which a reused authorization skips.
    const run = await needingChallenge(() => runCli(['renew', '--force', '--ignore-rate-limits', '--config', path], rel.env));
    expect(run.code, run.stderr).toBe(1);
    const error = String(eventsNamed(run.events, 'renewal.failed', 'www')[0]?.error);
    expect(error).toMatch(why);
    expect(error).not.toMatch(/\n\s+at /);
    expect(rel.awsProxy.calls.slice(start).filter((call) => call.action === 'ImportCertificate')).toEqual([]);
    expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBe(before);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });
});

/**
 * Garbage where a JSON answer belongs, at each step of the conversation: one line naming the URL, what
 * was expected and what came; never acme-client's TypeError ("Cannot create property 'url' on string").
 */
const jsonWithout = (field: string) => (answer: ForwardedAnswer) => {
  const body = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
  delete body[field];
  return withBody(answer, JSON.stringify(body));
};
/** Every authorization read after the first (the polls while the CA validates, records in place). */
const laterAuthorizationReads = () => {
  let seen = 0;
  return (call: { action: string; method: string }) => call.action === 'authZ' && call.method === 'POST' && ++seen > 1;
};

const garbage: [string, () => (call: { action: string; method: string }) => boolean, (answer: ForwardedAnswer) => ForwardedAnswer, RegExp][] = [
  [
    'a non-JSON body on newOrder',
    () => (call) => call.action === 'order-plz',
    (answer) => withBody(answer, 'upstream connect error or disconnect/reset before headers'),
    /answered POST https:\/\/127\.0\.0\.1:\d+\/order-plz: expected a JSON order object .*, came HTTP 201, application\/json, not a JSON object: upstream connect error or disconnect\/reset before headers$/,
  ],
  [
    'a JSON string instead of an order object',
    () => (call) => call.action === 'order-plz',
    (answer) => withBody(answer, JSON.stringify(answer.body.toString('utf8'))),
    /answered POST https:\/\/127\.0\.0\.1:\d+\/order-plz: expected a JSON order object .*, came HTTP 201, application\/json, not a JSON object: "\{\\n .{40,}…$/,
  ],
  [
    'HTML on the directory',
    () => (call) => call.action === 'dir',
    (answer) => ({ ...answer, headers: { ...answer.headers, 'content-type': 'text/html' }, body: Buffer.from('<html><body><h1>502 Bad Gateway</h1></body></html>') }),
    /answered GET https:\/\/127\.0\.0\.1:\d+\/dir: expected a JSON directory object .*, came HTTP 200, text\/html, not a JSON object: <html><body><h1>502 Bad Gateway<\/h1><\/body><\/html>/,
  ],
  [
    'an empty body on finalize',
    () => (call) => call.action === 'finalize-order',
    (answer) => withBody(answer, ''),
    /answered POST https:\/\/127\.0\.0\.1:\d+\/finalize-order\/\S+: expected a JSON order object \(status\), came HTTP 200, application\/json, not a JSON object: an empty body$/,
  ],
  [
    'an authorization without status while the CA validates',
    laterAuthorizationReads,
    jsonWithout('status'),
    /answered POST https:\/\/127\.0\.0\.1:\d+\/authZ\/\S+: expected a JSON authorization object \(status, identifier, challenges\), came HTTP 200, application\/json, no status: \{.{40,}…$/,
  ],
];

describe('garbage from the CA', () => {
  it.each(garbage)('%s: exit 1, one line with the URL, what was expected and what came, nothing left', async (_label, match, rewrite, why) => {
    rel.acme.add({ match: match(), fault: { rewrite } });
    // Some answers are read only while the CA validates a challenge, which a reused authorization skips.
    const run = await needingChallenge(() => runCli(['renew', '--force', '--ignore-rate-limits', '--config', path], rel.env));
    expect(run.code, run.stderr).toBe(1);
    const error = String(eventsNamed(run.events, 'renewal.failed', 'www')[0]?.error);
    expect(error).toMatch(why);
    expect(error).not.toContain('\n');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/TypeError|Cannot (read|create) propert|\n\s+at /);
    expect(await rel.aws.listAcmeChallengeRecords()).toEqual([]);
  });
});
