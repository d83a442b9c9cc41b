import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { ListCertificatesCommand, ListTagsForCertificateCommand } from '@aws-sdk/client-acm';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startAcmKeyVault, startServingListener, type AcmKeyVault, type ServingListener } from '../stack/load-balancer-double.js';
import { startStack, type Stack, type StackOptions } from '../stack/stack.js';
import { writeConfigFile, type ConfigFields } from '../e2e/config-file.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { rememberSecret, type AuditEvent, type CliResult } from './output-log.js';

/**
 * One reliability stack: Pebble, moto and DNS as in the e2e tests, with fault proxies in front of
 * Pebble (ACME) and of the ACM key vault (AWS: ACM, ELBv2, Route 53), so a test can hold, fail or
 * rewrite any call certkeeper makes; load-balancer doubles serve what each listener names.
 */
export interface ReliabilityStack {
  stack: Stack;
  aws: AwsFixtures;
  vault: AcmKeyVault;
  acme: FaultProxy;
  awsProxy: FaultProxy;
  /** certkeeper's environment: AWS and ACME through the fault proxies. */
  env: NodeJS.ProcessEnv;
  directoryUrl: string;
  workDir: string;
  stop(): Promise<void>;
}

export async function startReliabilityStack(options: StackOptions = {}): Promise<ReliabilityStack> {
  // Every order validates (no authorization reuse), so every renewal writes TXT records.
  const stack = await startStack({ ...options, preloadEc2: true, pebble: { ...options.pebble, env: { PEBBLE_AUTHZREUSE: '0', ...options.pebble?.env } } });
  const vault = await startAcmKeyVault(stack.motoEndpoint);
  const awsProxy = await startFaultProxy({
    upstream: vault.endpoint,
    onCall: (call) => {
      if (call.action === 'ImportCertificate') rememberSecret(Buffer.from((JSON.parse(call.text) as { PrivateKey: string }).PrivateKey, 'base64').toString('utf8'));
    },
  });
  const acme = await startFaultProxy({
    upstream: stack.directoryUrl,
    tls: { certPath: stack.pebble.serverCertPath, keyPath: stack.pebble.serverKeyPath, caPath: stack.caCertPath },
  });
  const directoryUrl = `${acme.url}${new URL(stack.directoryUrl).pathname}`;
  const workDir = mkdtempSync(join(tmpdir(), 'certkeeper-reliability-work-'));
  return {
    stack,
    aws: awsFixtures(stack.motoEndpoint),
    vault,
    acme,
    awsProxy,
    env: { ...stack.env, AWS_ENDPOINT_URL: awsProxy.url },
    directoryUrl,
    workDir,
    async stop() {
      await Promise.all([acme.stop(), awsProxy.stop(), vault.stop()]);
      await stack.stop();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

export interface ServedListener extends HttpsListener {
  region: string;
  serving: ServingListener;
}

/**
 * Pebble gives a new order an authorization that is already valid about one time in a hundred even with
 * PEBBLE_AUTHZREUSE=0 (its test is `rand.Intn(100) > percent`; a negative percentage is refused): such an order
 * needs no challenge, so a run meant to be stopped at a challenge step (or its clean-up) renews without ever
 * reaching it. True when a run ordered and was issued a certificate without presenting any challenge.
 */
export function issuedWithoutChallenge(events: AuditEvent[]): boolean {
  const named = (name: string) => events.some((event) => event.event === name);
  return named('acme.order.created') && named('acme.order.finalized') && !named('dns.challenge.presented');
}

/**
 * Runs a CLI run whose test needs the CA to validate a challenge (a fault on the challenge, its DNS record or the
 * CA's validation): a run that Pebble's reused authorization let through without one is run again, at most three
 * times in all, starting from the renewal it made (so `run` reads anything it compares against afresh).
 */
export async function needingChallenge(run: () => Promise<CliResult>): Promise<CliResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await run();
    if (attempt < 3 && issuedWithoutChallenge(result.events)) continue;
    return result;
  }
}

/** An HTTPS listener in moto with a loopback double that serves whatever certificate it names. */
export async function servedListener(rel: ReliabilityStack, name: string, region = 'us-east-1'): Promise<ServedListener> {
  const listener = await rel.aws.createHttpsListener({ name, region });
  const serving = await startServingListener(rel.aws.elbv2(region), listener.listenerArn, rel.vault);
  return { ...listener, region, serving };
}

/** The serial (hex, upper case) the endpoint serves for this SNI name; the handshake trusts nothing, it only reads. */
export function servedSerial(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    // Reading the served certificate is the point, not trusting it: this socket sends no data.
    const socket = connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      const serial = socket.getPeerCertificate().serialNumber;
      socket.end();
      resolve(serial.toUpperCase().replace(/^0+/, ''));
    });
    socket.on('error', reject);
  });
}

/** ACM certificates tagged as certkeeper's NAME in a region, read from moto directly. */
export async function taggedCertificates(aws: AwsFixtures, region: string, name: string): Promise<string[]> {
  const listed = await aws.acm(region).send(new ListCertificatesCommand({ Includes: { keyTypes: ['RSA_2048', 'EC_prime256v1', 'EC_secp384r1', 'RSA_3072', 'RSA_4096'] } }));
  const tagged: string[] = [];
  for (const summary of listed.CertificateSummaryList ?? []) {
    const tags = await aws.acm(region).send(new ListTagsForCertificateCommand({ CertificateArn: summary.CertificateArn }));
    if (tags.Tags?.some((tag) => tag.Key === 'certkeeper:name' && tag.Value === name)) tagged.push(summary.CertificateArn!);
  }
  return tagged;
}

export function writeConfig(rel: ReliabilityStack, file: string, fields: Partial<ConfigFields> & { certificates: unknown[] }): string {
  return writeConfigFile(join(rel.workDir, file), rel.directoryUrl, { ...fields, stateDir: fields.stateDir ?? join(rel.workDir, 'state') });
}
