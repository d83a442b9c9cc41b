import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAcmInUseBy, type AcmInUseByDouble } from '../stack/acm-in-use-by.js';
import { startAwsCallRecorder } from '../stack/aws-call-recorder.js';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from '../e2e/config-file.js';
import { eventsNamed, exitWithin, runCli, watchCli } from './output-log.js';

/**
 * A certificate removed from the config while still on a listener: certkeeper stops renewing it, so
 * `discover`, `status` and the daemon's daily discovery say so, with what uses it and its expiry.
 */

let stack: Stack;
/** ACM's InUseBy as real ACM gives it (moto's is stale after ModifyListener). */
let inUseBy: AcmInUseByDouble;
let env: NodeJS.ProcessEnv;
let aws: AwsFixtures;
let keptListener: HttpsListener;
let droppedListener: HttpsListener;
let workDir: string;
/** The `dropped` certificate as deployed while it was still in the config. */
let droppedArn: string;
let droppedNotAfter: string;
let keptOnly: string;

beforeAll(async () => {
  stack = await startStack();
  aws = awsFixtures(stack.motoEndpoint);
  inUseBy = await startAcmInUseBy(stack.motoEndpoint);
  env = { ...stack.env, AWS_ENDPOINT_URL: inUseBy.endpoint };
  await aws.createHostedZone('leftconfig.example');
  [keptListener, droppedListener] = await Promise.all([aws.createHttpsListener({ name: 'alb-kept' }), aws.createHttpsListener({ name: 'alb-dropped' })]);
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-left-config-'));
  const kept = { name: 'kept', domains: ['kept.leftconfig.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: keptListener.listenerArn }] }] };
  const dropped = { name: 'dropped', domains: ['dropped.leftconfig.example'], acm: [{ region: 'us-east-1', listeners: [{ arn: droppedListener.listenerArn }] }] };
  const fields = (certificates: unknown[]) => ({ stateDir: join(workDir, 'state'), schedule: { cron: '0 0 1 1 *', jitterSeconds: 0 }, certificates });
  const both = writeConfigFile(join(workDir, 'both.config.mjs'), stack.directoryUrl, fields([kept, dropped]));
  const first = await runCli(['renew', '--config', both], env);
  expect(first.code, first.stderr).toBe(0);
  droppedArn = (await aws.describeListenerCertificates(droppedListener.listenerArn)).defaultArn!;
  droppedNotAfter = (await aws.describeAcm(droppedArn)).NotAfter!.toISOString();
  keptOnly = writeConfigFile(join(workDir, 'kept.config.mjs'), stack.directoryUrl, fields([kept]));
});

afterAll(async () => {
  await inUseBy?.stop();
  await stack?.stop();
});

/** What a report must say of the dropped certificate: its name, ARN, expiry and the load balancer using it. */
function expectDropped(entry: Record<string, unknown> | undefined): void {
  expect(entry).toMatchObject({ name: 'dropped', region: 'us-east-1', certificateArn: droppedArn, notAfter: droppedNotAfter, domainName: 'dropped.leftconfig.example' });
  expect(entry!.daysLeft as number).toBeGreaterThan(30); // reported whatever its expiry, not only within discovery.withinDays
  expect(entry!.inUseBy).toEqual([droppedListener.loadBalancerArn]);
}

describe('a certificate that leaves the config', () => {
  it('discover lists it in its own section and, in --json, as a left-config entry of the same array', async () => {
    const json = await runCli(['discover', '--json', '--config', keptOnly], env);
    expect(json.code, json.stderr).toBe(0);
    const entries = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(Array.isArray(entries)).toBe(true);
    const leftConfig = entries.filter((entry) => entry.kind === 'left-config');
    expect(leftConfig).toHaveLength(1);
    expectDropped(leftConfig[0]);
    // The certificate still in the config is in neither list.
    const keptArn = (await aws.describeListenerCertificates(keptListener.listenerArn)).defaultArn;
    expect(entries.some((entry) => entry.certificateArn === keptArn)).toBe(false);
    expectDropped(eventsNamed(json.events, 'discovery.unmanaged_owned')[0]);
    expect(String(eventsNamed(json.events, 'discovery.unmanaged_owned')[0]!.why)).toMatch(/no longer in the config.*put "dropped" back in the config/);

    const text = await runCli(['discover', '--config', keptOnly], env);
    expect(text.code, text.stderr).toBe(0);
    const section = text.stdout.slice(text.stdout.indexOf('certkeeper-tagged certificates no longer in the config: 1'));
    expect(section).toContain(`dropped  dropped.leftconfig.example  expires ${droppedNotAfter}  us-east-1  ${droppedArn}`);
    expect(section).toMatch(/used by: .*alb-dropped/);
  });

  it('status lists it under the table; status --json stays an array of rows and logs it as an event', async () => {
    const text = await runCli(['status', '--config', keptOnly], env);
    expect(text.code, text.stderr).toBe(0);
    const [table, under] = text.stdout.split('\ncertkeeper-tagged certificates no longer in the config: 1');
    expect(table).toMatch(/^NAME/);
    expect(table).toContain('kept');
    expect(under).toContain(`dropped  dropped.leftconfig.example  expires ${droppedNotAfter}  us-east-1  ${droppedArn}`);
    expect(under).toMatch(/used by: .*alb-dropped/);

    // Read with the status pass's own listings (one ListCertificates, one GetResources, as without it);
    // the one call it adds is a DescribeCertificate per certificate that left the config.
    const recorder = await startAwsCallRecorder(inUseBy.endpoint);
    const json = await runCli(['status', '--json', '--config', keptOnly], { ...env, AWS_ENDPOINT_URL: recorder.endpoint }).finally(() => recorder.stop());
    expect(json.code, json.stderr).toBe(0);
    const count = (action: string) => recorder.calls.filter((call) => call.action === action).length;
    expect([count('acm:ListCertificates'), count('tag:GetResources'), count('acm:DescribeCertificate')]).toEqual([1, 1, 1]);
    const rows = JSON.parse(json.stdout) as { name: string }[];
    expect(rows.map((row) => row.name)).toEqual(['kept']);
    expectDropped(eventsNamed(json.events, 'discovery.unmanaged_owned')[0]);
  });

  it("the daemon's discovery logs it", async () => {
    const daemon = watchCli(['run', '--config', keptOnly], env);
    const event = await daemon.waitFor('discovery.unmanaged_owned');
    daemon.child.kill('SIGTERM');
    const { code, stderr } = await exitWithin(daemon, 30_000);
    expect(code, stderr).toBe(0);
    expectDropped(event);
    expect(event.level).toBe('warn');
  });
});
