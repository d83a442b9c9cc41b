import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../e2e/cli.js';

/**
 * deploy/aws/certkeeper.template.json checked by AWS's CloudFormation linter, cfn-lint (Python; it comes with
 * moto[server], which the tests already need: test/setup-machine.sh), and by what no linter knows: every name
 * derives from the stack name, the alarms watch what certkeeper and SNS really publish, and the task role's
 * policy is what `certkeeper iam-policy` prints for the config, for any stack name.
 */

const TEMPLATE = fileURLToPath(new URL('../../deploy/aws/certkeeper.template.json', import.meta.url));
const CONFIG = fileURLToPath(new URL('../../deploy/aws/renewal.config.ts', import.meta.url));
const source = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

interface Resource {
  Type: string;
  DeletionPolicy?: string;
  Properties: Record<string, any>;
}
const template = JSON.parse(readFileSync(TEMPLATE, 'utf8')) as { Parameters: Record<string, unknown>; Resources: Record<string, Resource>; Outputs: Record<string, unknown> };
const resources = template.Resources;

const dir = mkdtempSync(join(tmpdir(), 'certkeeper-cfn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function cfnLint(path: string): Promise<{ code: number; output: string }> {
  // Informational checks too (e.g. a stateful resource without an explicit DeletionPolicy), and any finding fails.
  const args = ['--include-checks', 'I', '--non-zero-exit-code', 'informational', '--', path];
  return new Promise((resolve, reject) =>
    execFile('cfn-lint', args, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') {
        return reject(new Error(`cfn-lint did not run (${error.message}): it comes with moto[server] (sh test/setup-machine.sh), or pip install cfn-lint`, { cause: error }));
      }
      resolve({ code: typeof error?.code === 'number' ? error.code : 0, output: `${stdout}${stderr}`.trim() });
    }),
  );
}

/** The template as CloudFormation would resolve it in one stack: just the intrinsic functions the parts checked here use. */
function render(node: unknown, stack: { name: string; account: string; region: string }): unknown {
  const ref = (name: string): string => {
    const pseudo: Record<string, string> = { 'AWS::StackName': stack.name, 'AWS::AccountId': stack.account, 'AWS::Region': stack.region, 'AWS::Partition': 'aws' };
    if (pseudo[name]) return pseudo[name];
    const resource = resources[name];
    if (resource?.Type === 'AWS::DynamoDB::Table') return render(resource.Properties.TableName, stack) as string;
    if (resource?.Type === 'AWS::SNS::Topic') return `arn:aws:sns:${stack.region}:${stack.account}:${render(resource.Properties.TopicName, stack) as string}`;
    throw new Error(`render: no rule for Ref ${name}`);
  };
  if (Array.isArray(node)) return node.map((item) => render(item, stack));
  if (!node || typeof node !== 'object') return node;
  const entries = Object.entries(node);
  if (entries.length === 1 && entries[0]![0] === 'Ref') return ref(entries[0]![1] as string);
  if (entries.length === 1 && entries[0]![0] === 'Fn::Sub') return (entries[0]![1] as string).replace(/\$\{([^}]+)\}/g, (_, name: string) => ref(name));
  if (entries.some(([key]) => key.startsWith('Fn::'))) throw new Error(`render: no rule for ${JSON.stringify(node)}`);
  return Object.fromEntries(entries.map(([key, value]) => [key, render(value, stack)]));
}

async function iamPolicyFor(env: Record<string, string>): Promise<unknown> {
  const run = await runCli(['iam-policy', '--offline', '--config', CONFIG], env);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('deploy/aws/certkeeper.template.json', () => {
  it('passes cfn-lint with every check, informational ones included, and nothing to say', async () => {
    expect(await cfnLint(TEMPLATE)).toEqual({ code: 0, output: '' });
  });

  it('is linted for real: a misspelt property and an alarm period CloudWatch refuses are reported', async () => {
    const broken = structuredClone(template);
    broken.Resources.AlertsTopic!.Properties.TopicNam = broken.Resources.AlertsTopic!.Properties.TopicName;
    delete broken.Resources.AlertsTopic!.Properties.TopicName;
    broken.Resources.NoPassFinishedAlarm!.Properties.Period = 45;
    const path = join(dir, 'broken.template.json');
    writeFileSync(path, JSON.stringify(broken, null, 2));
    const lint = await cfnLint(path);
    expect(lint.code).not.toBe(0);
    expect(lint.output).toMatch(/E3002 .*'TopicNam' was unexpected/);
    expect(lint.output).toMatch(/E3615 45 is not one of/);
  });

  it('names everything after the stack: several stacks fit in one account and region, kept (Retain) resources included', () => {
    const nameKeys = ['TableName', 'Name', 'TopicName', 'LogGroupName', 'ClusterName', 'Family', 'AlarmName'];
    const named = Object.entries(resources).flatMap(([id, resource]) =>
      nameKeys.filter((key) => key in resource.Properties).map((key) => ({ id, key, value: resource.Properties[key] as unknown })),
    );
    expect(named.length).toBeGreaterThanOrEqual(10);
    for (const { id, key, value } of named) {
      // The stack's name in it, or another resource of the stack (named so itself).
      const ref = (value as { Ref?: string }).Ref;
      if (ref) expect(resources[ref], `${id}.${key}`).toBeDefined();
      else expect({ id, key, value }).toEqual({ id, key, value: { 'Fn::Sub': expect.stringContaining('${AWS::StackName}') } });
    }
    const retained = Object.entries(resources).filter(([, resource]) => resource.DeletionPolicy === 'Retain');
    expect(retained.map(([id]) => id).sort()).toEqual(['AccountKeySecret', 'LogGroup', 'StoreTable']);
  });

  it("alarms on certkeeper's own audit log (no pass finished in a day) and on its alerts topic (published, undelivered)", () => {
    const filter = resources.PassesFinishedMetric!;
    expect(filter.Type).toBe('AWS::Logs::MetricFilter');
    expect(filter.Properties.LogGroupName).toEqual({ Ref: 'LogGroup' });
    // The event is one certkeeper writes (as the JSON audit line's top-level `event`) at the end of every pass.
    expect(filter.Properties.FilterPattern).toBe('{ $.event = "pass.finished" }');
    expect(source('src/agent/pass.ts')).toContain("log.info('pass.finished'");
    const [metric] = filter.Properties.MetricTransformations as { MetricNamespace: unknown; MetricName: string }[];

    const alarms = Object.fromEntries(Object.entries(resources).filter(([, resource]) => resource.Type === 'AWS::CloudWatch::Alarm'));
    expect(Object.keys(alarms).sort()).toEqual(['AlertsPublishedAlarm', 'AlertsUndeliveredAlarm', 'NoPassFinishedAlarm']);
    expect(alarms.NoPassFinishedAlarm!.Properties).toMatchObject({
      Namespace: metric!.MetricNamespace,
      MetricName: metric!.MetricName,
      Statistic: 'Sum',
      Period: 86_400,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      // No line at all (the task never started) is the case this alarm is for.
      TreatMissingData: 'breaching',
    });
    // SNS's own metrics of the topic certkeeper publishes its notifications to (src/telemetry/sinks/sns-sink.ts).
    for (const [id, metricName] of [
      ['AlertsPublishedAlarm', 'NumberOfMessagesPublished'],
      ['AlertsUndeliveredAlarm', 'NumberOfNotificationsFailed'],
    ] as const) {
      expect(alarms[id]!.Properties).toMatchObject({
        Namespace: 'AWS/SNS',
        MetricName: metricName,
        Dimensions: [{ Name: 'TopicName', Value: { 'Fn::GetAtt': ['AlertsTopic', 'TopicName'] } }],
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
      });
      // Never the alerts topic itself: its own message would keep the alarm on.
      expect(JSON.stringify(alarms[id]!.Properties.AlarmActions)).not.toContain('AlertsTopic');
    }
  });

  it("the task role's policy is what iam-policy prints for the config the task runs, for any stack name", async () => {
    const committed = JSON.parse(source('deploy/aws/iam-policy.json')) as unknown;
    // Without the stack's variables the config names a stack called "certkeeper": the committed policy.
    expect(await iamPolicyFor({})).toEqual(committed);

    for (const name of ['certkeeper', 'certkeeper-staging']) {
      const stack = { name, account: '111122223333', region: 'us-east-1' };
      const [container] = resources.TaskDefinition!.Properties.ContainerDefinitions as { Environment: unknown; Command: string[] }[];
      expect(container!.Command).toEqual(['renew', '--config', '/etc/certkeeper/renewal.config.ts']);
      const env = Object.fromEntries((render(container!.Environment, stack) as { Name: string; Value: string }[]).map(({ Name, Value }) => [Name, Value]));
      expect(env).toMatchObject({
        CERTKEEPER_STORE_TABLE: `${name}-store`,
        CERTKEEPER_ACCOUNT_KEY_SECRET: render(resources.AccountKeySecret!.Properties.Name, stack),
        CERTKEEPER_ALERTS_TOPIC_ARN: `arn:aws:sns:us-east-1:111122223333:${name}-alerts`,
      });
      const policy = render(resources.TaskRole!.Properties.Policies[0].PolicyDocument, stack);
      expect(policy).toEqual(await iamPolicyFor(env));
    }
  });
});
