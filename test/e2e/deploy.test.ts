import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImportCertificateCommand } from '@aws-sdk/client-acm';
import { ModifyListenerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { selfSignedCertificate } from '../stack/tls.js';
import { eventsNamed, runCli, watchCli, type CliResult } from './cli.js';
import { startAcmKeyVault } from '../stack/load-balancer-double.js';

/** Deploying safely: several regions from one order, key-type changes that ACM cannot re-import, drift. */

let stack: Stack;
let aws: AwsFixtures;
let east: HttpsListener;
let west: HttpsListener;
let workDir: string;

beforeAll(async () => {
  stack = await startStack();
  aws = awsFixtures(stack.motoEndpoint);
  await aws.createHostedZone('deploy.example');
  [east, west] = await Promise.all([aws.createHttpsListener({ name: 'alb-east' }), aws.createHttpsListener({ name: 'alb-west', region: 'eu-west-1' })]);
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-deploy-'));
});

afterAll(async () => {
  await stack?.stop();
});

function config(keyType: string): string {
  return writeConfigFile(join(workDir, `${keyType}.config.mjs`), stack.directoryUrl, {
    stateDir: join(workDir, 'state'),
    certificates: [
      {
        name: 'global',
        domains: ['www.deploy.example'],
        keyType,
        acm: [
          { region: 'us-east-1', listeners: [{ arn: east.listenerArn, mode: 'sni' }] },
          { region: 'eu-west-1', listeners: [{ arn: west.listenerArn }] },
        ],
      },
    ],
  });
}

function deployments(run: CliResult): Record<string, string> {
  expect(run.code, run.stderr).toBe(0);
  const event = eventsNamed(run.events, 'renewal.succeeded', 'global')[0]!;
  return Object.fromEntries((event.deployments as { region: string; certificateArn: string }[]).map((d) => [d.region, d.certificateArn]));
}

describe('deploying', () => {
  let arns: Record<string, string>;

  it('imports one order into every configured region: the same serial, an ARN per region', async () => {
    const run = await runCli(['renew', '--config', config('ecdsa-p256')], stack.env);
    arns = deployments(run);
    expect(eventsNamed(run.events, 'acme.order.created')).toHaveLength(1);
    const [us, eu] = [await aws.describeAcm(arns['us-east-1']!), await aws.describeAcm(arns['eu-west-1']!)];
    expect(us.Serial).toBe(eu.Serial);
    expect((await aws.describeListenerCertificates(east.listenerArn)).sniArns).toEqual([arns['us-east-1']]);
    expect((await aws.describeListenerCertificates(west.listenerArn)).defaultArn).toBe(arns['eu-west-1']);
  });

  it('on a key-type change imports new certificates, moves every listener, then deletes the old ones', async () => {
    const run = await runCli(['renew', '--config', config('rsa-2048')], stack.env);
    const fresh = deployments(run);
    for (const region of ['us-east-1', 'eu-west-1']) {
      expect(fresh[region]).not.toBe(arns[region]);
      expect((await aws.describeAcm(fresh[region]!)).KeyAlgorithm).toBe('RSA_2048');
      await expect(aws.describeAcm(arns[region]!)).rejects.toThrow();
    }
    expect(eventsNamed(run.events, 'acm.imported').every((e) => e.reimport === false)).toBe(true);
    expect(
      eventsNamed(run.events, 'acm.deleted')
        .map((e) => e.certificateArn)
        .sort(),
    ).toEqual([arns['us-east-1'], arns['eu-west-1']].sort());
    // Each listener moved before its old certificate went.
    const order = run.events.map((e) => e.event).filter((name) => name === 'listener.updated' || name === 'acm.deleted');
    expect(order.indexOf('listener.updated')).toBeLessThan(order.indexOf('acm.deleted'));
    // SNI: exactly one certificate of this name on the listener.
    expect((await aws.describeListenerCertificates(east.listenerArn)).sniArns).toEqual([fresh['us-east-1']]);
    expect((await aws.describeListenerCertificates(west.listenerArn)).defaultArn).toBe(fresh['eu-west-1']);
    arns = fresh;
  });

  it('re-importing keeps the ARNs and changes no listener', async () => {
    const run = await runCli(['renew', '--force', '--config', config('rsa-2048')], stack.env);
    expect(deployments(run)).toEqual(arns);
    expect(eventsNamed(run.events, 'listener.updated')).toEqual([]);
  });

  it('detects a listener changed by hand, shows it in status, and puts the certificate back without ordering', async () => {
    const configPath = config('rsa-2048');
    await aws.elbv2('eu-west-1').send(new ModifyListenerCommand({ ListenerArn: west.listenerArn, Certificates: [{ CertificateArn: west.placeholderCertificateArn }] }));
    const status = await runCli(['status', '--json', '--config', configPath], stack.env);
    const [row] = JSON.parse(status.stdout) as { action: string; checks: string[]; reasons: string[] }[];
    expect(row).toMatchObject({ action: 'redeploy', checks: ['ListenerDrift'] });
    expect(row!.reasons[0]).toBe(`listener ${west.listenerArn} does not serve ${arns['eu-west-1']} as its default certificate: put it back`);

    const run = await runCli(['renew', '--config', configPath], stack.env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^global: put back on its listeners: /);
    expect(eventsNamed(run.events, 'acme.order.created')).toEqual([]);
    expect(eventsNamed(run.events, 'listener.updated')[0]).toMatchObject({
      listenerArn: west.listenerArn,
      previousCertificateArn: west.placeholderCertificateArn,
      certificateArn: arns['eu-west-1'],
    });
    expect((await aws.describeListenerCertificates(west.listenerArn)).defaultArn).toBe(arns['eu-west-1']);
    const again = await runCli(['renew', '--config', configPath], stack.env);
    expect(eventsNamed(again.events, 'renewal.decided')[0]).toMatchObject({ action: 'none' });
  });

  it('discovers unmanaged certificates that expire soon, with what uses them, and never lists its own', async () => {
    const soon = await selfSignedCertificate('legacy.deploy.example', ['legacy.deploy.example'], { notAfter: new Date(Date.now() + 3 * 86_400_000) });
    const { CertificateArn: legacy } = await aws
      .acm()
      .send(new ImportCertificateCommand({ Certificate: Buffer.from(soon.certificatePem), PrivateKey: Buffer.from(soon.privateKeyPem) }));
    const run = await runCli(['discover', '--json', '--days', '100', '--config', config('rsa-2048')], stack.env);
    expect(run.code, run.stderr).toBe(0);
    const found = JSON.parse(run.stdout) as { certificateArn: string; region: string; daysLeft: number; inUseBy: string[] }[];
    // The legacy certificate first (3 days), then the two listeners' placeholders (30 days), in both regions.
    expect(found[0]).toMatchObject({ certificateArn: legacy, region: 'us-east-1', inUseBy: [] });
    expect(
      found
        .slice(1)
        .map((entry) => entry.certificateArn)
        .sort(),
    ).toEqual([east.placeholderCertificateArn, west.placeholderCertificateArn].sort());
    expect(found.slice(1).every((entry) => entry.inUseBy.length > 0)).toBe(true);
    expect(found.some((entry) => Object.values(arns).includes(entry.certificateArn))).toBe(false);

    const narrow = await runCli(['discover', '--days', '10', '--config', config('rsa-2048')], stack.env);
    expect(narrow.stdout).toContain('1 ACM certificate(s) not managed by certkeeper expire within 10 days:');
    expect(narrow.stdout).toContain(legacy!);
    expect((await runCli(['discover', '--days', 'soon', '--config', config('rsa-2048')], stack.env)).code).toBe(2);
  });

  it('a crash between the ACM import and the listener update is completed by the next pass, with no second order', async () => {
    const vault = await startAcmKeyVault(stack.motoEndpoint);
    const env = { ...stack.env, AWS_ENDPOINT_URL: vault.endpoint };
    const crashListener = await aws.createHttpsListener({ name: 'alb-crash' });
    const path = join(workDir, 'crash.config.mjs');
    writeConfigFile(path, stack.directoryUrl, {
      stateDir: join(workDir, 'state'),
      certificates: [{ name: 'crashy', domains: ['crashy.deploy.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: crashListener.listenerArn }] }] }],
    });
    try {
      vault.slowDown('ModifyListener', 5_000);
      const renewal = watchCli(['renew', '--config', path], env);
      const imported = await renewal.waitFor('acm.imported');
      renewal.child.kill('SIGKILL');
      await renewal.done;
      vault.slowDown(null);
      expect((await aws.describeListenerCertificates(crashListener.listenerArn)).defaultArn).toBe(crashListener.placeholderCertificateArn);

      const next = await runCli(['renew', '--config', path], env);
      expect(next.code, next.stderr).toBe(0);
      expect(eventsNamed(next.events, 'renewal.decided')[0]).toMatchObject({ action: 'redeploy', checks: ['ListenerDrift'] });
      expect(eventsNamed(next.events, 'acme.order.created')).toEqual([]);
      expect((await aws.describeListenerCertificates(crashListener.listenerArn)).defaultArn).toBe(imported.certificateArn);
      expect(await aws.listAcmeChallengeRecords()).toEqual([]);
    } finally {
      await vault.stop();
    }
  });
});
