import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { GetCertificateCommand, ListCertificatesCommand } from '@aws-sdk/client-acm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { httpsGet } from '../stack/https-get.js';
import { startPebble, type Pebble } from '../stack/pebble.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli, type CliResult } from './cli.js';

/**
 * `renew --dry-run` on the real local stack: a second Pebble is the staging CA (its own port, so the
 * directory used is provable from its order URLs and from which CA knows the serial). A certificate
 * deployed for real first (ACM + a listener) must come out of the dry run untouched, with no challenge
 * record left and nothing new in the store's records.
 */

let stack: Stack;
let staging: Pebble;
let aws: AwsFixtures;
let listener: HttpsListener;
let workDir: string;
let stateDir: string;
let env: NodeJS.ProcessEnv;
let configPath: string;
let failingConfigPath: string;

const deployed = { name: 'deployed', domains: ['www.dry.example'] };

beforeAll(async () => {
  stack = await startStack({ ignoreZones: ['unserved.example'] });
  aws = awsFixtures(stack.motoEndpoint);
  // The staging CA starts while AWS is set up (the listener's EC2 backend is moto's slowest start).
  [staging, listener] = await Promise.all([
    startPebble({ dnsPort: stack.dnsPort, env: { PEBBLE_AUTHZREUSE: '0' } }),
    aws.createHttpsListener({ name: 'alb-dry' }),
    aws.createHostedZone('dry.example'),
    // In Route 53, but the stack's DNS server does not serve it: the staging CA cannot validate there.
    aws.createHostedZone('unserved.example'),
  ]);
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-dry-run-'));
  stateDir = join(workDir, 'state');
  // Each Pebble may have made its own HTTPS CA: trust both.
  const trusted = join(workDir, 'trusted.pem');
  writeFileSync(trusted, readFileSync(stack.caCertPath, 'utf8') + readFileSync(staging.caCertPath, 'utf8'));
  env = { ...stack.env, NODE_EXTRA_CA_CERTS: trusted };
  const acme = { stagingDirectoryUrl: staging.directoryUrl };
  configPath = writeConfigFile(join(workDir, 'dry.config.mjs'), stack.directoryUrl, {
    acme,
    stateDir,
    certificates: [{ ...deployed, acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }] }],
  });
  failingConfigPath = writeConfigFile(join(workDir, 'failing.config.mjs'), stack.directoryUrl, {
    acme,
    stateDir,
    // The CA's own look is what must fail here, not certkeeper's propagation check (120 s to give up).
    route53: { propagation: { check: false } },
    certificates: [
      { name: 'no-zone', domains: ['www.nozone.example'], acm: [{ region: 'us-east-1' }] },
      { name: 'unserved', domains: ['www.unserved.example'], acm: [{ region: 'us-east-1' }] },
    ],
  });
  const renewed = await runCli(['renew', '--config', configPath], env);
  if (renewed.code !== 0) throw new Error(`the real renewal before the dry run failed:\n${renewed.stderr}`);
});

afterAll(async () => {
  await staging?.stop();
  await stack?.stop();
});

/** What is deployed and what certkeeper remembers: all of it must be the same after a dry run. */
async function snapshot() {
  const acm = aws.acm();
  const arns = ((await acm.send(new ListCertificatesCommand({ Includes: { keyTypes: ['EC_prime256v1', 'RSA_2048'] } }))).CertificateSummaryList ?? [])
    .map((summary) => summary.CertificateArn!)
    .sort();
  const certificates = await Promise.all(
    arns.map(async (arn) => {
      const detail = await aws.describeAcm(arn);
      const { Certificate: body } = await acm.send(new GetCertificateCommand({ CertificateArn: arn }));
      return { arn, serial: detail.Serial, notAfter: detail.NotAfter?.toISOString(), body };
    }),
  );
  return { certificates, listener: await aws.describeListenerCertificates(listener.listenerArn), records: storeRecords() };
}

/**
 * The store's documents, by path, except the ACME accounts (one per directory: the staging one is
 * expected) and the cache of public ACM facts (rebuilt from ACM at will).
 */
function storeRecords(): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      const name = relative(stateDir, path);
      if (name === 'accounts' || name === 'acm-facts') continue;
      if (statSync(path).isDirectory()) visit(path);
      else files[name] = readFileSync(path, 'utf8');
    }
  };
  visit(stateDir);
  return files;
}

/** Whether a CA issued this serial: Pebble's management interface knows every certificate it issued. */
async function issuedBy(pebble: Pebble, serial: string): Promise<boolean> {
  const answer = await httpsGet(`${pebble.managementUrl}/cert-status-by-serial/${serial}`, pebble.caCertPath);
  return answer.status === 200;
}

function expectOnlyDryRunLines(run: CliResult): void {
  expect(run.events.length).toBeGreaterThan(0);
  for (const event of run.events) expect(event.dryRun, `${event.event} carries dryRun`).toBe(true);
  for (const name of ['acm.imported', 'listener.updated', 'renewal.succeeded', 'renewal.failed', 'renewal.issued_kept', 'pass.started']) {
    expect(eventsNamed(run.events, name), name).toEqual([]);
  }
}

describe('renew --dry-run', () => {
  it('proves the whole path against the staging CA and leaves ACM, the listener, Route 53 and the records as they were', async () => {
    const before = await snapshot();
    expect(before.certificates.length).toBeGreaterThanOrEqual(2); // the listener's placeholder and the deployed one
    expect(before.listener.defaultArn).not.toBe(listener.placeholderCertificateArn);
    expect(Object.keys(before.records)).toContain('certificates/deployed.json');

    const run = await runCli(['renew', '--dry-run', '--json', deployed.name, '--config', configPath], env);
    expect(run.code, run.stderr).toBe(0);
    const [outcome] = JSON.parse(run.stdout) as Record<string, unknown>[];
    expect(outcome).toMatchObject({ name: deployed.name, result: 'succeeded', dryRun: true, directoryUrl: staging.directoryUrl });

    // The order went to the staging directory, and only the staging CA issued the certificate.
    const stagingOrigin = new URL(staging.directoryUrl).origin;
    const [order] = eventsNamed(run.events, 'acme.order.created', deployed.name);
    expect(order!.orderUrl).toMatch(new RegExp(`^${stagingOrigin}/`));
    expect(outcome!.orderUrl).toBe(order!.orderUrl);
    const serial = outcome!.serial as string;
    expect(await issuedBy(staging, serial)).toBe(true);
    expect(await issuedBy(stack.pebble, serial)).toBe(false);

    // Real DNS-01: presented in Route 53, validated by the staging CA, cleaned up.
    expect(eventsNamed(run.events, 'dns.challenge.presented', deployed.name)).toHaveLength(1);
    expect(eventsNamed(run.events, 'dns.challenge.cleaned', deployed.name)).toHaveLength(1);
    expect(eventsNamed(run.events, 'renewal.dry_run_succeeded', deployed.name)[0]).toMatchObject({ directoryUrl: staging.directoryUrl, serial });
    expectOnlyDryRunLines(run);

    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    expect(await snapshot()).toEqual(before);

    // The staging account is a second account, its key kept like production's: 0600 in stateDir.
    const accounts = readdirSync(join(stateDir, 'accounts'));
    expect(accounts).toHaveLength(2);
    for (const file of accounts) expect(statSync(join(stateDir, 'accounts', file)).mode & 0o777).toBe(0o600);
  });

  it('exits 1 saying why when a certificate cannot pass (no hosted zone; a CA that cannot validate), and changes nothing', async () => {
    const before = await snapshot();
    const run = await runCli(['renew', '--dry-run', '--config', failingConfigPath], env);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/^no-zone: dry run FAILED: no public Route 53 hosted zone contains _acme-challenge\.www\.nozone\.example; create the zone/m);
    expect(run.stdout).toMatch(/^unserved: dry run FAILED: dns-01 challenge for www\.unserved\.example failed: /m);
    // The missing zone stops it before any order; the other presented its record, then removed it.
    expect(eventsNamed(run.events, 'acme.order.created', 'no-zone')).toEqual([]);
    expect(eventsNamed(run.events, 'dns.challenge.presented', 'unserved')).toHaveLength(1);
    expect(eventsNamed(run.events, 'renewal.dry_run_failed').map((event) => event.certificate)).toEqual(expect.arrayContaining(['no-zone', 'unserved']));
    expectOnlyDryRunLines(run);

    expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    expect(await snapshot()).toEqual(before);
  });

  it('refuses options that mean nothing for a dry run (exit 2, naming them)', async () => {
    const forced = await runCli(['renew', '--dry-run', '--force', deployed.name, '--config', configPath], env);
    expect(forced.code).toBe(2);
    expect(eventsNamed(forced.events, 'cli.usage_error')[0]!.error).toMatch(/^--dry-run cannot be used with --force: /);
  });
});
