import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AddTagsToCertificateCommand, GetCertificateCommand, ImportCertificateCommand, ListTagsForCertificateCommand } from '@aws-sdk/client-acm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures } from '../stack/aws-fixtures.js';
import { startAwsCounter, type CountingForwarder } from '../stack/request-counters.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { runCli } from './cli.js';
import { FACTS_TAG, factsTag } from '../../src/targets/acm-facts-tag.js';
import { readCertificate } from '../../src/pki/certificate.js';

/**
 * `status` over a fleet reads ACM per page, not per certificate: one listing and one tag search per
 * region, the PEM of each certificate once (then kept by ARN and listing fingerprint), and again only
 * after a re-import. What certkeeper imports itself carries those facts in a tag (certkeeper:facts), so a
 * pass reads no PEM for it, even from an empty stateDir. AWS calls are counted by a forwarder in front of moto.
 */

const FLEET = 30;
let stack: Stack;
let aws: AwsFixtures;
let counter: CountingForwarder;
let workDir: string;
let sourceConfig: string;
let fleetConfig: string;
let fleetArns: string[];
let firstSerial: string;
let sourceArn: string;

const env = () => ({ ...stack.env, AWS_ENDPOINT_URL: counter.url });

async function pem(arn: string): Promise<{ certificate: string; chain?: string; serial: string }> {
  const answer = await aws.acm().send(new GetCertificateCommand({ CertificateArn: arn }));
  return { certificate: answer.Certificate!, chain: answer.CertificateChain, serial: new X509Certificate(answer.Certificate!).serialNumber.toLowerCase().replace(/^0+/, '') };
}

// moto does not check that a key matches its certificate (real ACM does): one throwaway key serves every import.
const throwawayKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;

async function importAs(name: string, source: { certificate: string; chain?: string }, certificateArn?: string): Promise<string> {
  const tags = [
    { Key: 'certkeeper:name', Value: name },
    { Key: 'managed-by', Value: 'certkeeper' },
  ];
  const answer = await aws.acm().send(
    new ImportCertificateCommand({
      CertificateArn: certificateArn,
      Certificate: Buffer.from(source.certificate),
      CertificateChain: source.chain ? Buffer.from(source.chain) : undefined,
      PrivateKey: Buffer.from(throwawayKey),
      Tags: certificateArn ? undefined : tags,
    }),
  );
  // moto's re-import wipes the tags (real ACM keeps them): put them back as AWS would have them.
  if (certificateArn) await aws.acm().send(new AddTagsToCertificateCommand({ CertificateArn: certificateArn, Tags: tags }));
  return answer.CertificateArn!;
}

async function status(config = fleetConfig): Promise<{ rows: { name: string; serial: string | null; action: string; error?: string }[]; calls: Record<string, number> }> {
  counter.reset();
  const run = await runCli(['status', '--json', '--config', config], env());
  expect(run.code, run.stderr).toBe(0);
  // Only ACM and tagging calls: the hosted-zone check of status reads Route 53 once, whatever the fleet.
  const calls = Object.fromEntries(Object.entries(counter.counts()).filter(([key]) => /^(acm|tagging) /.test(key)));
  return { rows: JSON.parse(run.stdout), calls };
}

beforeAll(async () => {
  stack = await startStack();
  counter = await startAwsCounter(stack.motoEndpoint);
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('fleet.example');
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-fleet-'));
  const domains = ['www.fleet.example'];
  sourceConfig = writeConfigFile(join(workDir, 'source.config.mjs'), stack.directoryUrl, {
    stateDir: join(workDir, 'source-state'),
    certificates: [{ name: 'source', domains, acm: [{ region: 'us-east-1' }] }],
  });
  const issued = await runCli(['renew', '--json', '--config', sourceConfig], stack.env);
  expect(issued.code, issued.stderr).toBe(0);
  sourceArn = (JSON.parse(issued.stdout) as { deployments?: { certificateArn: string }[] }[])[0]!.deployments![0]!.certificateArn;
  expect(sourceArn).toBeDefined();
  const source = await pem(sourceArn);
  firstSerial = source.serial;
  fleetArns = await Promise.all(Array.from({ length: FLEET }, (_, i) => importAs(`fleet-${i}`, source)));
  fleetConfig = writeConfigFile(join(workDir, 'fleet.config.mjs'), stack.directoryUrl, {
    stateDir: join(workDir, 'fleet-state'),
    certificates: Array.from({ length: FLEET }, (_, i) => ({ name: `fleet-${i}`, domains, acm: [{ region: 'us-east-1' }] })),
  });
}, 120_000);

afterAll(async () => {
  await counter?.stop();
  await stack?.stop();
});

describe('status over a fleet', () => {
  it('finds every certificate by its tags with one listing and one tag search, and reads each PEM once', async () => {
    // The source was imported by certkeeper: its new import carried the facts tag (the fleet's imports, by hand, do not).
    const sourceTags = (await aws.acm().send(new ListTagsForCertificateCommand({ CertificateArn: sourceArn }))).Tags ?? [];
    expect(sourceTags.find((tag) => tag.Key === FACTS_TAG)?.Value).toBe(factsTag(readCertificate((await pem(sourceArn)).certificate))!.Value);
    const { rows, calls } = await status();
    expect(rows).toHaveLength(FLEET);
    expect(rows.every((row) => row.action === 'none' && !row.error && row.serial === firstSerial)).toBe(true);
    expect(calls['acm ListCertificates']).toBe(1);
    expect(calls['tagging GetResources']).toBe(1);
    expect(calls['acm ListTagsForCertificate']).toBeUndefined();
    expect(calls['acm GetCertificate']).toBe(FLEET);
  });

  it('a second pass asks ACM only for the listings: what the PEMs said is kept', async () => {
    const { rows, calls } = await status();
    expect(rows.every((row) => row.action === 'none' && row.serial === firstSerial)).toBe(true);
    // The source certificate is tagged as certkeeper's under a name the fleet config lacks: status describes it
    // once to list it under the table (issue 13: a certificate that leaves the config is not forgotten).
    expect(calls).toEqual({ 'acm ListCertificates': 1, 'tagging GetResources': 1, 'acm DescribeCertificate': 1 });
  });

  it('a certificate re-imported since is read again, and status shows the new one', async () => {
    const renewed = await runCli(['renew', '--force', '--json', '--config', sourceConfig], stack.env);
    expect(renewed.code, renewed.stderr).toBe(0);
    expect((JSON.parse(renewed.stdout) as { deployments?: { certificateArn: string }[] }[])[0]!.deployments![0]!.certificateArn).toBe(sourceArn);
    const next = await pem(sourceArn);
    expect(next.serial).not.toBe(firstSerial);
    await importAs('fleet-7', next, fleetArns[7]);

    const { rows, calls } = await status();
    expect(rows.find((row) => row.name === 'fleet-7')!.serial).toBe(next.serial);
    expect(rows.filter((row) => row.name !== 'fleet-7').every((row) => row.serial === firstSerial)).toBe(true);
    expect(calls['acm GetCertificate']).toBe(1);
  });

  it('what certkeeper imported (new, then re-imported) carries its facts: a status from an empty stateDir reads no PEM for it', async () => {
    const current = await pem(sourceArn);
    const tags = (await aws.acm().send(new ListTagsForCertificateCommand({ CertificateArn: sourceArn }))).Tags ?? [];
    expect(tags.find((tag) => tag.Key === FACTS_TAG)?.Value).toBe(factsTag(readCertificate(current.certificate))!.Value);
    const fresh = writeConfigFile(join(workDir, 'source-fresh.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'source-fresh-state'),
      certificates: [{ name: 'source', domains: ['www.fleet.example'], acm: [{ region: 'us-east-1' }] }],
    });
    const { rows, calls } = await status(fresh);
    expect(rows[0]).toMatchObject({ name: 'source', serial: current.serial, action: 'none' });
    expect(calls['acm GetCertificate']).toBeUndefined();
  });

  it('a facts tag of another certificate, or of other names, is not believed: the PEM is read and shows the right serial', async () => {
    const source = await pem(fleetArns[0]!);
    const facts = readCertificate(source.certificate);
    const right = factsTag(facts)!;
    const tagWith = (index: number, value: string) =>
      aws.acm().send(new AddTagsToCertificateCommand({ CertificateArn: fleetArns[index]!, Tags: [{ Key: FACTS_TAG, Value: value }] }));
    // A certificate's facts left from before a re-import: its validity is not the listing's.
    await tagWith(3, factsTag({ ...facts, serial: 'abc123', notAfter: new Date(facts.notAfter.getTime() + 86_400_000) })!.Value);
    await tagWith(4, factsTag({ ...facts, serial: 'abc124', domains: ['other.fleet.example'] })!.Value);
    await tagWith(5, right.Value);
    const fresh = writeConfigFile(join(workDir, 'fleet-fresh.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'fleet-fresh-state'),
      certificates: Array.from({ length: FLEET }, (_, i) => ({ name: `fleet-${i}`, domains: ['www.fleet.example'], acm: [{ region: 'us-east-1' }] })),
    });
    const { rows, calls } = await status(fresh);
    expect(rows.filter((row) => row.name !== 'fleet-7').map((row) => row.serial)).toEqual(Array(FLEET - 1).fill(firstSerial));
    // Every PEM but fleet-5's, whose tag is its own.
    expect(calls['acm GetCertificate']).toBe(FLEET - 1);
  });
});
