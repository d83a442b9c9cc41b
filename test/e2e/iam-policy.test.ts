import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PolicyDocument } from '../../src/aws/iam-policy.js';
import { awsFixtures, type AwsFixtures, type HttpsListener } from '../stack/aws-fixtures.js';
import { startAwsCallRecorder, type AwsCallRecorder, type RecordedCall } from '../stack/aws-call-recorder.js';
import { evaluateCall } from '../stack/iam-evaluate.js';
import { createStoreTable } from '../stack/dynamodb-table.js';
import { startStack, type Stack } from '../stack/stack.js';
import { writeConfigFile } from './config-file.js';
import { collect, parseEvents, runCli, startCli } from './cli.js';

/**
 * The policy `certkeeper iam-policy` prints is evaluated (with iam-simulate) against every AWS call real
 * `renew`, `status` and `discover` runs make on the local stack, recorded by a proxy in front of moto.
 */

let stack: Stack;
let aws: AwsFixtures;
let recorder: AwsCallRecorder;
let zoneId: string;
let otherZoneId: string;
let delegatedZoneId: string;
let validationZoneId: string;
let web: HttpsListener;
let api: HttpsListener;
let other: HttpsListener;
let workDir: string;
let policy: PolicyDocument;

function config(webKeyType: string): string {
  return writeConfigFile(join(workDir, `${webKeyType}.config.mjs`), stack.directoryUrl, {
    stateDir: join(workDir, 'state'),
    certificates: [
      // Zone found by name: iam-policy looks it up.
      { name: 'web', domains: ['iam.example', '*.iam.example'], keyType: webKeyType, acm: [{ region: 'us-east-1', listeners: [{ arn: web.listenerArn }] }] },
      { name: 'api', domains: ['api.iam.example'], route53: { hostedZoneId: zoneId }, acm: [{ region: 'us-east-1', listeners: [{ arn: api.listenerArn, mode: 'sni' }] }] },
      // _acme-challenge delegated by CNAME into a validation zone: iam-policy follows it, as renewals do.
      { name: 'delegated', domains: ['www.deleg-iam.example'], acm: [{ region: 'us-east-1' }] },
    ],
  });
}

beforeAll(async () => {
  stack = await startStack({ preloadEc2: true });
  aws = awsFixtures(stack.motoEndpoint);
  [zoneId, otherZoneId, delegatedZoneId, validationZoneId] = (await Promise.all(
    ['iam.example', 'elsewhere.example', 'deleg-iam.example', 'validation-iam.example'].map((zone) => aws.createHostedZone(zone)),
  )) as [string, string, string, string];
  await aws.route53.send(
    new ChangeResourceRecordSetsCommand({
      HostedZoneId: delegatedZoneId,
      ChangeBatch: {
        Changes: [
          {
            Action: 'CREATE',
            ResourceRecordSet: { Name: '_acme-challenge.www.deleg-iam.example', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: 'www.validation-iam.example' }] },
          },
        ],
      },
    }),
  );
  [web, api, other] = (await Promise.all(['alb-iam-web', 'alb-iam-api', 'alb-iam-other'].map((name) => aws.createHttpsListener({ name })))) as [
    HttpsListener,
    HttpsListener,
    HttpsListener,
  ];
  workDir = mkdtempSync(join(tmpdir(), 'certkeeper-iam-'));
  recorder = await startAwsCallRecorder(stack.motoEndpoint);
});

afterAll(async () => {
  await recorder?.stop();
  await stack?.stop();
});

async function denied(call: Pick<RecordedCall, 'action' | 'resource' | 'context'>): Promise<boolean> {
  return (await evaluateCall(policy, call)) !== 'Allowed';
}

describe('certkeeper iam-policy', () => {
  it('names the zone it looks up by name, follows a CNAME-delegated challenge, and allows every call that real runs make', async () => {
    // Notes for a person, as JSON events like every stderr line when stderr is not a terminal.
    const printed = await collect(startCli(['iam-policy', '--config', config('ecdsa-p256')], stack.env));
    expect(printed.code, printed.stderr).toBe(0);
    policy = JSON.parse(printed.stdout) as PolicyDocument;
    const changes = policy.Statement.filter((s) => s.Action.includes('route53:ChangeResourceRecordSets'));
    const namesIn = (zone: string) =>
      changes.find((s) => s.Resource === `arn:aws:route53:::hostedzone/${zone}`)?.Condition?.['ForAllValues:StringLike']?.['route53:ChangeResourceRecordSetsNormalizedRecordNames'];
    // The delegating zone is only read; the TXT values are written at the CNAME target.
    expect(changes.map((s) => s.Resource).sort()).toEqual([`arn:aws:route53:::hostedzone/${zoneId}`, `arn:aws:route53:::hostedzone/${validationZoneId}`].sort());
    expect(namesIn(validationZoneId)).toEqual(['www.validation-iam.example']);
    expect(namesIn(zoneId)).toEqual(['_acme-challenge.api.iam.example', '_acme-challenge.iam.example']);
    const reads = policy.Statement.find((s) => s.Action.includes('route53:ListResourceRecordSets'))!;
    expect(reads.Resource).toContain(`arn:aws:route53:::hostedzone/${delegatedZoneId}`);
    const notes = parseEvents(printed.stderr);
    expect(notes.map((note) => note.event)).toContain('iam_policy.note');
    expect(notes.some((note) => String(note.text).includes('_acme-challenge.www.deleg-iam.example is delegated by CNAME'))).toBe(true);
    expect(printed.stderr).not.toContain('any hosted zone');

    const env = { ...stack.env, AWS_ENDPOINT_URL: recorder.endpoint };
    const runs = [
      ['renew', '--config', config('ecdsa-p256')], // new imports, tags, both listener modes
      ['renew', '--force', '--config', config('ecdsa-p256')], // re-imports in place
      ['renew', 'web', '--config', config('rsa-2048')], // key type change: new import, move, delete the old one
      ['status', '--config', config('rsa-2048')],
      ['discover', '--config', config('rsa-2048')],
    ];
    for (const args of runs) {
      const run = await runCli(args, env);
      expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(0);
    }

    const made = recorder.calls.filter((call) => call.status < 400);
    const actions = new Set(made.map((call) => call.action));
    for (const action of [
      'route53:ListHostedZones',
      'route53:GetHostedZone',
      'route53:ListResourceRecordSets',
      'route53:ChangeResourceRecordSets',
      'route53:GetChange',
      'acm:ListCertificates',
      'acm:ImportCertificate',
      'acm:AddTagsToCertificate',
      'acm:GetCertificate',
      'acm:DescribeCertificate',
      'acm:ListTagsForCertificate',
      'acm:DeleteCertificate',
      'elasticloadbalancing:ModifyListener',
      'elasticloadbalancing:AddListenerCertificates',
      'elasticloadbalancing:DescribeListeners',
      'elasticloadbalancing:DescribeListenerCertificates',
    ]) {
      expect(actions, action).toContain(action);
    }
    const refused: string[] = [];
    for (const call of made) {
      const decision = await evaluateCall(policy, call);
      if (decision !== 'Allowed') refused.push(`${decision}: ${call.action} ${call.resource} ${JSON.stringify(call.context)}`);
    }
    expect(refused).toEqual([]);
  });

  it('denies a TXT change outside the challenge names, another record type, another zone, and another listener', async () => {
    const change = recorder.calls.find((call) => call.action === 'route53:ChangeResourceRecordSets')!;
    const names = 'route53:ChangeResourceRecordSetsNormalizedRecordNames';
    expect(await denied(change)).toBe(false);
    expect(await denied({ ...change, context: { ...change.context, [names]: ['www.iam.example'] } })).toBe(true);
    expect(await denied({ ...change, context: { ...change.context, [names]: ['_acme-challenge.iam.example', 'iam.example'] } })).toBe(true);
    expect(await denied({ ...change, context: { ...change.context, [names]: ['_acme-challenge.other.iam.example'] } })).toBe(true);
    expect(await denied({ ...change, context: { ...change.context, 'route53:ChangeResourceRecordSetsRecordTypes': ['TXT', 'A'] } })).toBe(true);
    expect(await denied({ ...change, context: { ...change.context, 'route53:ChangeResourceRecordSetsActions': ['UPSERT'] } })).toBe(true);
    expect(await denied({ ...change, resource: `arn:aws:route53:::hostedzone/${otherZoneId}` })).toBe(true);

    const modify = recorder.calls.find((call) => call.action === 'elasticloadbalancing:ModifyListener')!;
    expect(await denied(modify)).toBe(false);
    expect(await denied({ ...modify, resource: other.listenerArn })).toBe(true);
    // A listener configured for SNI gets no ModifyListener; a default one no SNI changes.
    expect(await denied({ ...modify, resource: api.listenerArn })).toBe(true);
    expect(await denied({ action: 'elasticloadbalancing:AddListenerCertificates', resource: web.listenerArn, context: {} })).toBe(true);
  });

  it('denies re-importing over, or deleting, a certificate that is not certkeeper-tagged', async () => {
    const foreign = other.placeholderCertificateArn;
    expect(await denied({ action: 'acm:ImportCertificate', resource: foreign, context: {} })).toBe(true);
    expect(await denied({ action: 'acm:DeleteCertificate', resource: foreign, context: {} })).toBe(true);
    expect(await denied({ action: 'acm:DeleteCertificate', resource: foreign, context: { 'aws:ResourceTag/managed-by': 'someone-else' } })).toBe(true);
    // A new import without certkeeper's tags, or with other tags, is refused too.
    expect(await denied({ action: 'acm:ImportCertificate', resource: foreign.replace(/[0-9a-f-]{36}$/, '00000000-0000-4000-8000-000000000000'), context: {} })).toBe(true);
  });

  it('with the shared store and the account key in Secrets Manager: allows every DynamoDB and Secrets Manager call the runs make', async () => {
    await createStoreTable(stack.motoEndpoint, 'certkeeper-iam-state');
    const shared = writeConfigFile(join(workDir, 'shared.config.mjs'), stack.directoryUrl, {
      stateDir: join(workDir, 'shared-state'),
      store: { type: 'dynamodb', tableName: 'certkeeper-iam-state' },
      acme: { accountKey: { secretsManager: { secretId: 'certkeeper/iam-account-key' } } },
      certificates: [{ name: 'stored', domains: ['stored.iam.example'], acm: [{ region: 'us-east-1' }] }],
    });
    const printed = await collect(startCli(['iam-policy', '--config', shared], stack.env));
    expect(printed.code, printed.stderr).toBe(0);
    const sharedPolicy = JSON.parse(printed.stdout) as PolicyDocument;

    const from = recorder.calls.length;
    const env = { ...stack.env, AWS_ENDPOINT_URL: recorder.endpoint };
    for (const args of [
      ['renew', '--config', shared],
      ['renew', '--force', '--config', shared],
      ['status', '--config', shared],
    ]) {
      const run = await runCli(args, env);
      expect(run.code, `${args.join(' ')}\n${run.stderr}`).toBe(0);
    }
    const made = recorder.calls.slice(from).filter((call) => call.status < 400 && /^(dynamodb|secretsmanager):/.test(call.action));
    const actions = new Set(made.map((call) => call.action));
    // The lease, the records, the journal (and its listing at every pass start), the account key.
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Scan', 'secretsmanager:GetSecretValue'])
      expect(actions, action).toContain(action);
    const refused: string[] = [];
    for (const call of made) {
      const decision = await evaluateCall(sharedPolicy, call);
      if (decision !== 'Allowed') refused.push(`${decision}: ${call.action} ${call.resource}`);
    }
    expect(refused).toEqual([]);
  });
});
