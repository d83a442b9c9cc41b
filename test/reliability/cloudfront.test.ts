import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { startAcmInUseBy, type AcmInUseByDouble } from '../stack/acm-in-use-by.js';
import type { PolicyDocument } from '../../src/aws/iam-policy.js';
import { startAwsCallRecorder, type AwsCallRecorder } from '../stack/aws-call-recorder.js';
import { awsFixtures } from '../stack/aws-fixtures.js';
import { evaluateCall } from '../stack/iam-evaluate.js';
import { cloudFrontClient, createDistribution, setViewerCertificate, startServingDistribution, viewerCertificateOf, type ServingDistribution } from '../stack/cloudfront-double.js';
import { eventsNamed, runCli } from './output-log.js';
import { servedListener, servedSerial, startReliabilityStack, taggedCertificates, writeConfig, type ReliabilityStack, type ServedListener } from './harness.js';

/**
 * CloudFront as a place of the ACM deployer, on the local stack: one certificate on an ALB listener
 * and a CloudFront distribution at once (one import in us-east-1 serves both). moto stores the
 * distribution's viewer certificate; a loopback double serves what it names, and the ACM double
 * answers InUseBy with the distribution as real ACM does.
 */
const NAME = 'cdn';
const DOMAIN = 'www.cdn.example';
const RENEW = ['renew', '--ignore-rate-limits', '--config'];

let rel: ReliabilityStack;
let inUseBy: AcmInUseByDouble;
let recorder: AwsCallRecorder;
let env: NodeJS.ProcessEnv;
let listener: ServedListener;
let cloudfront: CloudFrontClient;
let distributionId: string;
let edge: ServingDistribution;

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone('cdn.example');
  listener = await servedListener(rel, 'alb-cdn');
  cloudfront = cloudFrontClient(rel.stack.motoEndpoint);
  distributionId = await createDistribution(cloudfront, 'origin.cdn.example');
  edge = await startServingDistribution(cloudfront, distributionId, rel.vault);
  // certkeeper → call recorder (for the IAM check) → InUseBy as real ACM → fault proxy → key vault → moto.
  inUseBy = await startAcmInUseBy(rel.awsProxy.url);
  recorder = await startAwsCallRecorder(inUseBy.endpoint);
  env = { ...rel.env, AWS_ENDPOINT_URL: recorder.endpoint };
});

afterAll(async () => {
  await Promise.all([listener?.serving.stop(), edge?.stop(), recorder?.stop(), inUseBy?.stop()]);
  cloudfront?.destroy();
  await rel?.stop();
});

function config(keyType: string): string {
  return writeConfig(rel, `${keyType}.config.mjs`, {
    certificates: [
      {
        name: NAME,
        domains: [DOMAIN],
        keyType,
        acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }],
        cloudfront: [{ distributionId }],
        verify: [
          { host: '127.0.0.1', port: listener.serving.port, sni: DOMAIN },
          { host: '127.0.0.1', port: edge.port, sni: DOMAIN },
        ],
        verifyTimeoutSeconds: 60,
      },
    ],
  });
}

/** One certificate of this name in us-east-1, named by the listener and the distribution, served by both. */
async function expectOnBoth(): Promise<{ arn: string; serial: string }> {
  const tagged = await taggedCertificates(rel.aws, 'us-east-1', NAME);
  expect(tagged).toHaveLength(1);
  const arn = tagged[0]!;
  expect((await rel.aws.describeListenerCertificates(listener.listenerArn)).defaultArn).toBe(arn);
  const viewer = await viewerCertificateOf(cloudfront, distributionId);
  expect(viewer).toMatchObject({ ACMCertificateArn: arn, SSLSupportMethod: 'sni-only', CloudFrontDefaultCertificate: false });
  const serial = await servedSerial(listener.serving.port, DOMAIN);
  expect(await servedSerial(edge.port, DOMAIN)).toBe(serial);
  return { arn, serial };
}

describe('a certificate on an ALB listener and a CloudFront distribution', () => {
  let first: { arn: string; serial: string };

  it('the first renewal imports once in us-east-1 and sets both; the distribution gets TLSv1.2_2021 (it had the default certificate)', async () => {
    expect((await viewerCertificateOf(cloudfront, distributionId))?.CloudFrontDefaultCertificate).toBe(true);
    const run = await runCli([...RENEW, config('ecdsa-p256')], env);
    expect(run.code, run.stderr).toBe(0);
    first = await expectOnBoth();
    expect(eventsNamed(run.events, 'acm.imported')).toHaveLength(1);
    expect(eventsNamed(run.events, 'cloudfront.updated')).toMatchObject([
      { distributionId, previousCertificateArn: null, certificateArn: first.arn, minimumProtocolVersion: 'TLSv1.2_2021' },
    ]);
    expect((await viewerCertificateOf(cloudfront, distributionId))?.MinimumProtocolVersion).toBe('TLSv1.2_2021');
    expect(eventsNamed(run.events, 'deploy.verified')).toHaveLength(1);
    // As real ACM says it: the load balancer and the distribution use it.
    expect((await awsFixtures(inUseBy.endpoint).describeAcm(first.arn)).InUseBy).toEqual([
      listener.loadBalancerArn,
      `arn:aws:cloudfront::123456789012:distribution/${distributionId}`,
    ]);
  });

  it('status shows the distribution using the deployed certificate', async () => {
    const run = await runCli(['status', '--json', '--config', config('ecdsa-p256')], env);
    expect(run.code, run.stderr).toBe(0);
    const [row] = JSON.parse(run.stdout) as { action: string; acm: { region: string; certificateArn: string; attachments?: unknown[] }[] }[];
    expect(row!.action).toBe('none');
    expect(row!.acm).toEqual([
      {
        region: 'us-east-1',
        certificateArn: first.arn,
        listeners: [{ arn: listener.listenerArn, mode: 'default', carries: true }],
        attachments: [{ kind: 'CloudFront distribution', id: distributionId, carries: true }],
      },
    ]);
    const text = await runCli(['status', '--config', config('ecdsa-p256')], env);
    expect(text.stdout).toContain(`      CloudFront distribution ${distributionId}: uses it`);
  });

  it('a re-import keeps the ARN on both: no listener or distribution change', async () => {
    const run = await runCli([...RENEW, config('ecdsa-p256'), '--force'], env);
    expect(run.code, run.stderr).toBe(0);
    const now = await expectOnBoth();
    expect(now.arn).toBe(first.arn);
    expect(now.serial).not.toBe(first.serial);
    expect(eventsNamed(run.events, 'acm.imported')).toMatchObject([{ certificateArn: first.arn, reimport: true }]);
    expect(eventsNamed(run.events, 'cloudfront.updated')).toEqual([]);
    expect(eventsNamed(run.events, 'listener.updated')).toEqual([]);
  });

  it("a forced new ARN (key type change) moves both, keeps the distribution's TLS policy, and retires the old certificate once both serve the new one", async () => {
    // The operator chose a TLS policy: certkeeper keeps it.
    const before = await viewerCertificateOf(cloudfront, distributionId);
    await setViewerCertificate(cloudfront, distributionId, { ...before, MinimumProtocolVersion: 'TLSv1.2_2019' });
    const run = await runCli([...RENEW, config('ecdsa-p384'), '--force'], env);
    expect(run.code, run.stderr).toBe(0);
    const now = await expectOnBoth();
    expect(now.arn).not.toBe(first.arn);
    expect(eventsNamed(run.events, 'cloudfront.updated')).toMatchObject([
      { distributionId, previousCertificateArn: first.arn, certificateArn: now.arn, minimumProtocolVersion: 'TLSv1.2_2019' },
    ]);
    expect((await viewerCertificateOf(cloudfront, distributionId))?.MinimumProtocolVersion).toBe('TLSv1.2_2019');
    // Deleted only after both endpoints served the new certificate.
    const names = run.events.map((event) => event.event);
    expect(names.indexOf('deploy.verified')).toBeGreaterThan(-1);
    expect(names.indexOf('acm.deleted')).toBeGreaterThan(names.indexOf('deploy.verified'));
    expect(eventsNamed(run.events, 'acm.deleted')).toMatchObject([{ certificateArn: first.arn }]);
    await expect(rel.aws.describeAcm(first.arn)).rejects.toThrow();
    first = now;
  });

  it('a distribution changed by hand to another certificate is repaired by the next pass, with no order', async () => {
    const viewer = await viewerCertificateOf(cloudfront, distributionId);
    await setViewerCertificate(cloudfront, distributionId, { ...viewer, ACMCertificateArn: listener.placeholderCertificateArn });
    const status = await runCli(['status', '--json', '--config', config('ecdsa-p384')], env);
    const [row] = JSON.parse(status.stdout) as { action: string; checks: string[]; reasons: string[] }[];
    expect(row).toMatchObject({ action: 'redeploy', checks: ['ListenerDrift'] });
    expect(row!.reasons).toEqual([`CloudFront distribution ${distributionId} does not serve ${first.arn}: put it back`]);

    const run = await runCli(['renew', '--config', config('ecdsa-p384')], env);
    expect(run.code, run.stderr).toBe(0);
    expect(eventsNamed(run.events, 'acme.order.created')).toEqual([]);
    expect(eventsNamed(run.events, 'acm.imported')).toEqual([]);
    expect(eventsNamed(run.events, 'cloudfront.updated')).toMatchObject([
      { distributionId, previousCertificateArn: listener.placeholderCertificateArn, certificateArn: first.arn },
    ]);
    expect(eventsNamed(run.events, 'deploy.redeployed')).toHaveLength(1);
    expect(await expectOnBoth()).toEqual(first);
  });

  it('a distribution that does not exist fails the preflight, naming where it is in the config', async () => {
    const path = writeConfig(rel, 'missing.config.mjs', { certificates: [{ name: 'gone', domains: ['gone.cdn.example'], cloudfront: [{ distributionId: 'EDOESNOTEXIST1' }] }] });
    const run = await runCli(['doctor', '--config', path], rel.env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      '✗ cloudfront: CloudFront distribution EDOESNOTEXIST1 not found (fix: check certificates[0].cloudfront[0].distributionId: the ID of an existing distribution of this account)',
    );
  });

  it("`certkeeper iam-policy` allows every AWS call these runs made, CloudFront's included", async () => {
    const printed = await runCli(['iam-policy', '--config', config('ecdsa-p384')], rel.env);
    expect(printed.code, printed.stderr).toBe(0);
    const policy = JSON.parse(printed.stdout) as PolicyDocument;
    const made = recorder.calls.filter((call) => call.status < 400);
    const actions = new Set(made.map((call) => call.action));
    expect(actions).toContain('cloudfront:GetDistributionConfig');
    expect(actions).toContain('cloudfront:UpdateDistribution');
    const refused: string[] = [];
    for (const call of made) {
      const decision = await evaluateCall(policy, call);
      if (decision !== 'Allowed') refused.push(`${decision}: ${call.action} ${call.resource} ${JSON.stringify(call.context)}`);
    }
    expect(refused).toEqual([]);
  });
});
