import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startAcmKeyVault, startServingListener, type AcmKeyVault, type ServingListener } from '../stack/load-balancer-double.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { eventsNamed, runCli } from './cli.js';

/** What matters is what the endpoint serves: a loopback TLS "load balancer" serving what its listener names. */

let stack: Stack;
let aws: AwsFixtures;
let listener: HttpsListener;
let vault: AcmKeyVault;
let served: ServingListener;
let env: NodeJS.ProcessEnv;
let configPath: string;

beforeAll(async () => {
  stack = await startStack();
  aws = awsFixtures(stack.motoEndpoint);
  vault = await startAcmKeyVault(stack.motoEndpoint);
  env = { ...stack.env, AWS_ENDPOINT_URL: vault.endpoint };
  await aws.createHostedZone('verify.example');
  listener = await aws.createHttpsListener({ name: 'alb-verify' });
  served = await startServingListener(aws.elbv2(), listener.listenerArn, vault);
  const workDir = mkdtempSync(join(tmpdir(), 'certkeeper-verify-'));
  configPath = join(workDir, 'verify.config.mjs');
  writeConfigFile(configPath, stack.directoryUrl, {
    stateDir: join(workDir, 'state'),
    certificates: [
      {
        name: 'served',
        domains: ['www.verify.example'],
        acm: [{ region: 'us-east-1', listeners: [{ arn: listener.listenerArn }] }],
        verify: [{ host: '127.0.0.1', port: served.port, sni: 'www.verify.example' }],
        verifyTimeoutSeconds: 4,
      },
    ],
  });
});

afterAll(async () => {
  await served?.stop();
  await vault?.stop();
  await stack?.stop();
});

describe('verifying the served certificate', () => {
  let serial: string;

  it('checks after deploying that the endpoint serves the new certificate', async () => {
    const run = await runCli(['renew', '--config', configPath], env);
    expect(run.code, run.stderr).toBe(0);
    serial = eventsNamed(run.events, 'renewal.succeeded')[0]!.serial as string;
    expect(eventsNamed(run.events, 'deploy.verified')[0]).toMatchObject({ serial, endpoints: [`127.0.0.1:${served.port} (SNI www.verify.example)`] });
    const [row] = JSON.parse((await runCli(['status', '--json', '--config', configPath], env)).stdout) as { served: unknown[] }[];
    expect(row!.served).toEqual([{ endpoint: `127.0.0.1:${served.port} (SNI www.verify.example)`, serial, notAfter: expect.any(String), matches: true }]);
  });

  it('fails clearly when the endpoint keeps serving the old certificate, and says so on every pass', async () => {
    served.freeze();
    const run = await runCli(['renew', '--force', '--config', configPath], env);
    expect(run.code).toBe(1);
    const renewed = eventsNamed(run.events, 'acm.imported')[0]!.serial as string;
    const failure = eventsNamed(run.events, 'renewal.failed')[0]!.error as string;
    expect(failure).toMatch(
      new RegExp(
        `^deployed but not served: after 4 s, 127\\.0\\.0\\.1:${served.port} \\(SNI www\\.verify\\.example\\) serves serial ${serial} \\(valid until \\S+\\); expected serial ${renewed}$`,
      ),
    );
    expect(eventsNamed(run.events, 'deploy.not_served')).toHaveLength(1);

    const pass = await runCli(['renew', '--config', configPath], env);
    expect(pass.code).toBe(1);
    expect(pass.stdout).toMatch(/^served: FAILED: deployed but not served: 127\.0\.0\.1:\d+ \(SNI www\.verify\.example\) serves serial /m);

    served.unfreeze();
    const healed = await runCli(['renew', '--config', configPath], env);
    expect(healed.code, healed.stdout).toBe(0);
  });
});
