import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { buildIamPolicy, challengeRecordNames, normaliseRecordName, zoneGrants } from '../../src/aws/iam-policy.js';
import { evaluateCall } from '../stack/iam-evaluate.js';

const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2';
const ROLE = 'arn:aws:iam::210987654321:role/dns-challenges';

function config(extra: Record<string, unknown> = {}, route53: Record<string, unknown> = { hostedZoneId: 'ZONEA' }) {
  return validateConfig(
    {
      acme: { email: 'ops@example.com', termsOfServiceAgreed: true },
      aws: { region: 'us-east-1' },
      certificates: [{ name: 'web', domains: ['example.com', '*.example.com', 'www.example.com'], route53, acm: [{ region: 'us-east-1', listeners: [{ arn: LISTENER }] }] }],
      ...extra,
    },
    '/etc/certkeeper/renewal.config.ts',
  );
}

const change = (names: string[], zone = 'ZONEA', types = ['TXT'], actions = ['CREATE']) => ({
  action: 'route53:ChangeResourceRecordSets',
  resource: `arn:aws:route53:::hostedzone/${zone}`,
  context: {
    'route53:ChangeResourceRecordSetsNormalizedRecordNames': names,
    'route53:ChangeResourceRecordSetsRecordTypes': types,
    'route53:ChangeResourceRecordSetsActions': actions,
  },
});

describe('iam-policy builder', () => {
  it('normalises challenge names as Route 53 does; a wildcard shares its base name', () => {
    expect(challengeRecordNames(['example.com', '*.example.com', 'www.example.com'])).toEqual(['_acme-challenge.example.com', '_acme-challenge.www.example.com']);
    expect(normaliseRecordName('_ACME-challenge.Example.com.')).toBe('_acme-challenge.example.com');
    expect(normaliseRecordName('a*b.example.com')).toBe('a\\052b.example.com');
  });

  it('allows only TXT CREATE/DELETE of these challenge names in the configured zone', async () => {
    const { policy, notes } = buildIamPolicy(config());
    expect(notes).toEqual([]);
    expect(await evaluateCall(policy, change(['_acme-challenge.example.com', '_acme-challenge.www.example.com']))).toBe('Allowed');
    expect(await evaluateCall(policy, change(['_acme-challenge.www.example.com'], 'ZONEA', ['TXT'], ['DELETE']))).toBe('Allowed');
    expect(await evaluateCall(policy, change(['_acme-challenge.api.example.com']))).toBe('ImplicitlyDenied');
    expect(await evaluateCall(policy, change(['example.com']))).toBe('ImplicitlyDenied');
    expect(await evaluateCall(policy, change(['_acme-challenge.example.com'], 'ZONEB'))).toBe('ImplicitlyDenied');
    expect(await evaluateCall(policy, change(['_acme-challenge.example.com'], 'ZONEA', ['CNAME']))).toBe('ImplicitlyDenied');
    expect(await evaluateCall(policy, change(['_acme-challenge.example.com'], 'ZONEA', ['TXT'], ['UPSERT']))).toBe('ImplicitlyDenied');
    // No ListHostedZones when every zone is configured.
    expect(policy.Statement.flatMap((s) => s.Action)).not.toContain('route53:ListHostedZones');
  });

  it('opens the zone (and says so) when it is found by name and not looked up; names it when looked up', () => {
    const open = buildIamPolicy(config({}, {}));
    expect(open.notes[0]).toMatch(/found by name at run time and was not looked up/);
    expect(open.policy.Statement.find((s) => s.Sid === 'Route53ChallengeRecords')?.Resource).toBe('arn:aws:route53:::hostedzone/*');
    expect(open.policy.Statement.flatMap((s) => s.Action)).toContain('route53:ListHostedZones');
    const known = config({}, {});
    // As iam-policy places them with credentials: the zone the run-time lookup chose, for each name.
    const routes = new Map(['_acme-challenge.example.com', '_acme-challenge.www.example.com'].map((name) => [name, { name, zones: [{ hostedZoneId: 'ZEX' }] }]));
    const named = buildIamPolicy(known, zoneGrants(known, routes));
    expect(named.notes).toEqual([]);
    expect(named.policy.Statement.find((s) => s.Sid === 'Route53ChallengeRecords')?.Resource).toBe('arn:aws:route53:::hostedzone/ZEX');
  });

  it('moves Route 53 to the role side for zones reached through a role, and lets the agent assume it', async () => {
    const result = buildIamPolicy(config({ route53: { zones: [{ hostedZoneId: 'ZONEA', roleArn: ROLE, externalId: 'certkeeper-1' }] } }));
    expect(result.policy.Statement.some((s) => s.Action.some((a) => a.startsWith('route53:')))).toBe(false);
    expect(await evaluateCall(result.policy, { action: 'sts:AssumeRole', resource: ROLE, context: {} })).toBe('Allowed');
    const rolePolicy = result.rolePolicies.get(ROLE)!;
    expect(await evaluateCall(rolePolicy, change(['_acme-challenge.example.com']))).toBe('Allowed');
    expect(result.notes.join('\n')).toContain(`--role ${ROLE}`);
    expect(result.notes.join('\n')).toContain('sts:ExternalId');
  });

  it("writes a CNAME-delegated challenge only at its target (through the target zone's role); the zones on the way are only read", async () => {
    const delegated = config({ route53: { zones: [{ hostedZoneId: 'ZVALID', roleArn: ROLE }] } });
    const routes = new Map([
      [
        '_acme-challenge.www.example.com',
        { name: 'www.acme.validation.example', zones: [{ hostedZoneId: 'ZONEA' }, { hostedZoneId: 'ZMIDDLE' }, { hostedZoneId: 'ZVALID', roleArn: ROLE }] },
      ],
    ]);
    const { policy, rolePolicies } = buildIamPolicy(delegated, zoneGrants(delegated, routes));
    // The agent: the undelegated name in its own zone; the delegating zone and the middle of the chain read, not written.
    expect(await evaluateCall(policy, change(['_acme-challenge.example.com']))).toBe('Allowed');
    expect(await evaluateCall(policy, change(['_acme-challenge.www.example.com']))).not.toBe('Allowed');
    expect(await evaluateCall(policy, change(['_acme-challenge.www.example.com'], 'ZMIDDLE'))).not.toBe('Allowed');
    expect(await evaluateCall(policy, { action: 'route53:ListResourceRecordSets', resource: 'arn:aws:route53:::hostedzone/ZMIDDLE', context: {} })).toBe('Allowed');
    // The role: the target name in the validation zone, nothing else.
    const role = rolePolicies.get(ROLE)!;
    expect(await evaluateCall(role, change(['www.acme.validation.example'], 'ZVALID'))).toBe('Allowed');
    expect(await evaluateCall(role, change(['_acme-challenge.www.example.com'], 'ZVALID'))).not.toBe('Allowed');
  });

  it('lets a name found by name search the zones of route53.zones, through their roles, as renewals do', async () => {
    const byName = config({ route53: { zones: [{ hostedZoneId: 'ZVALID', roleArn: ROLE }] } }, {});
    const { policy, rolePolicies } = buildIamPolicy(byName);
    expect(await evaluateCall(policy, { action: 'sts:AssumeRole', resource: ROLE, context: {} })).toBe('Allowed');
    const role = rolePolicies.get(ROLE)!;
    expect(await evaluateCall(role, { action: 'route53:GetHostedZone', resource: 'arn:aws:route53:::hostedzone/ZVALID', context: {} })).toBe('Allowed');
    // Read only: nothing of this certificate is written there.
    expect(await evaluateCall(role, change(['_acme-challenge.example.com'], 'ZVALID'))).not.toBe('Allowed');
  });

  it('grants the store table, the account key, and the SNS topic only when configured', async () => {
    expect(buildIamPolicy(config()).policy.Statement.map((s) => s.Sid)).not.toEqual(expect.arrayContaining(['StoreTable']));
    const { policy } = buildIamPolicy(
      config({
        acme: { email: 'ops@example.com', termsOfServiceAgreed: true, accountKey: { ssm: { parameterName: '/certkeeper/account-key', region: 'eu-west-1' } } },
        store: { type: 'dynamodb', tableName: 'certkeeper-state' },
        notifications: { snsTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts' },
      }),
    );
    const allowed = (action: string, resource: string) => evaluateCall(policy, { action, resource, context: {} });
    expect(await allowed('dynamodb:UpdateItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/certkeeper-state')).toBe('Allowed');
    expect(await allowed('dynamodb:UpdateItem', 'arn:aws:dynamodb:us-east-1:123456789012:table/other')).toBe('ImplicitlyDenied');
    expect(await allowed('dynamodb:DeleteTable', 'arn:aws:dynamodb:us-east-1:123456789012:table/certkeeper-state')).toBe('ImplicitlyDenied');
    expect(await allowed('ssm:GetParameter', 'arn:aws:ssm:eu-west-1:123456789012:parameter/certkeeper/account-key')).toBe('Allowed');
    expect(await allowed('sns:Publish', 'arn:aws:sns:us-east-1:123456789012:alerts')).toBe('Allowed');
    expect(await allowed('sns:Publish', 'arn:aws:sns:us-east-1:123456789012:other')).toBe('ImplicitlyDenied');

    const secret = buildIamPolicy(
      config({ acme: { email: 'ops@example.com', termsOfServiceAgreed: true, accountKey: { secretsManager: { secretId: 'certkeeper/key' } } } }),
    ).policy;
    expect(
      await evaluateCall(secret, { action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:certkeeper/key-AbC123', context: {} }),
    ).toBe('Allowed');
    expect(
      await evaluateCall(secret, { action: 'secretsmanager:GetSecretValue', resource: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:certkeeper/key2-AbC123', context: {} }),
    ).toBe('ImplicitlyDenied');
    // The key of an issued certificate waits next to the account key until deployed, then is deleted.
    const kept = (action: string, name: string) => evaluateCall(secret, { action, resource: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbC123`, context: {} });
    expect(await kept('secretsmanager:CreateSecret', 'certkeeper/key/issued/web')).toBe('Allowed');
    expect(await kept('secretsmanager:DeleteSecret', 'certkeeper/key/issued/web')).toBe('Allowed');
    expect(await kept('secretsmanager:DeleteSecret', 'certkeeper/key')).toBe('ImplicitlyDenied');
    expect(await kept('secretsmanager:DeleteSecret', 'other/issued/web')).toBe('ImplicitlyDenied');
    expect(await allowed('ssm:DeleteParameter', 'arn:aws:ssm:eu-west-1:123456789012:parameter/certkeeper/account-key/issued/web')).toBe('Allowed');
    expect(await allowed('ssm:DeleteParameter', 'arn:aws:ssm:eu-west-1:123456789012:parameter/certkeeper/account-key')).toBe('ImplicitlyDenied');
  });

  it('lets ACM new imports through only with certkeeper tags, and re-import/delete only tagged or configured certificates', async () => {
    const arn = 'arn:aws:acm:us-east-1:123456789012:certificate/0b2e1a47-3f52-4a1c-9c2e-6f2d7f1e9a10';
    const other = 'arn:aws:acm:us-east-1:123456789012:certificate/11111111-3f52-4a1c-9c2e-6f2d7f1e9a10';
    const { policy } = buildIamPolicy(config());
    const tags = { 'aws:RequestTag/managed-by': 'certkeeper', 'aws:RequestTag/certkeeper:name': 'web', 'aws:TagKeys': ['managed-by', 'certkeeper:name'] };
    expect(await evaluateCall(policy, { action: 'acm:ImportCertificate', resource: arn, context: tags })).toBe('Allowed');
    expect(await evaluateCall(policy, { action: 'acm:ImportCertificate', resource: arn, context: { ...tags, 'aws:RequestTag/certkeeper:name': 'not-ours' } })).toBe(
      'ImplicitlyDenied',
    );
    expect(await evaluateCall(policy, { action: 'acm:ImportCertificate', resource: arn, context: { ...tags, 'aws:TagKeys': ['managed-by', 'certkeeper:name', 'owner'] } })).toBe(
      'ImplicitlyDenied',
    );
    // The facts tag (serial, ARI ID… of the PEM) goes with a new import, and onto a re-imported certificate.
    const withFacts = { ...tags, 'aws:RequestTag/certkeeper:facts': '1 …', 'aws:TagKeys': ['managed-by', 'certkeeper:name', 'certkeeper:facts'] };
    expect(await evaluateCall(policy, { action: 'acm:ImportCertificate', resource: arn, context: withFacts })).toBe('Allowed');
    const owned = { 'aws:ResourceTag/managed-by': 'certkeeper', 'aws:ResourceTag/certkeeper:name': 'web' };
    expect(await evaluateCall(policy, { action: 'acm:AddTagsToCertificate', resource: arn, context: { ...owned, 'aws:TagKeys': ['certkeeper:facts'] } })).toBe('Allowed');
    expect(await evaluateCall(policy, { action: 'acm:DeleteCertificate', resource: arn, context: owned })).toBe('Allowed');
    expect(await evaluateCall(policy, { action: 'acm:DeleteCertificate', resource: arn, context: {} })).toBe('ImplicitlyDenied');

    const configured = buildIamPolicy(
      validateConfig(
        {
          acme: { email: 'ops@example.com', termsOfServiceAgreed: true },
          aws: { region: 'us-east-1' },
          certificates: [{ name: 'web', domains: ['example.com'], route53: { hostedZoneId: 'ZONEA' }, acm: [{ region: 'us-east-1', certificateArn: arn }] }],
        },
        '/x.ts',
      ),
    ).policy;
    expect(await evaluateCall(configured, { action: 'acm:ImportCertificate', resource: arn, context: {} })).toBe('Allowed');
    expect(await evaluateCall(configured, { action: 'acm:ImportCertificate', resource: other, context: {} })).toBe('ImplicitlyDenied');
    const retag = { 'aws:TagKeys': ['managed-by', 'certkeeper:name', 'certkeeper:facts'] };
    expect(await evaluateCall(configured, { action: 'acm:AddTagsToCertificate', resource: arn, context: retag })).toBe('Allowed');
    expect(await evaluateCall(configured, { action: 'acm:AddTagsToCertificate', resource: arn, context: { 'aws:TagKeys': ['owner'] } })).toBe('ImplicitlyDenied');
    // No listeners configured: no ELBv2 permissions at all.
    expect(configured.Statement.flatMap((s) => s.Action).some((a) => a.startsWith('elasticloadbalancing:'))).toBe(false);
  });

  it('grants exactly GetDistributionConfig and UpdateDistribution on the configured CloudFront distributions, and ACM in us-east-1 for them', async () => {
    const withCloudFront = validateConfig(
      {
        acme: { email: 'ops@example.com', termsOfServiceAgreed: true },
        aws: { region: 'eu-west-1' },
        certificates: [
          {
            name: 'web',
            domains: ['example.com'],
            route53: { hostedZoneId: 'ZONEA' },
            acm: [{ region: 'us-east-1', listeners: [{ arn: LISTENER }] }],
            cloudfront: [{ distributionId: 'E2QWRUHAPOMQZL' }],
          },
          { name: 'cdn', domains: ['cdn.example.com'], route53: { hostedZoneId: 'ZONEA' }, cloudfront: [{ distributionId: 'E1ABCDEFGHIJKL' }] },
        ],
      },
      '/x.ts',
    );
    // The implied acm entry: CloudFront uses certificates of us-east-1 only.
    expect(withCloudFront.certificates[1]!.acm).toEqual([{ region: 'us-east-1', listeners: [] }]);
    const { policy } = buildIamPolicy(withCloudFront);
    const statement = policy.Statement.find((entry) => entry.Sid === 'CloudFrontViewerCertificate');
    expect(statement).toEqual({
      Sid: 'CloudFrontViewerCertificate',
      Effect: 'Allow',
      Action: ['cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
      Resource: ['arn:aws:cloudfront::123456789012:distribution/E1ABCDEFGHIJKL', 'arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL'],
    });
    const ours = 'arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL';
    expect(await evaluateCall(policy, { action: 'cloudfront:UpdateDistribution', resource: ours, context: {} })).toBe('Allowed');
    expect(await evaluateCall(policy, { action: 'cloudfront:UpdateDistribution', resource: 'arn:aws:cloudfront::123456789012:distribution/EOTHER000000', context: {} })).toBe(
      'ImplicitlyDenied',
    );
    expect(await evaluateCall(policy, { action: 'cloudfront:DeleteDistribution', resource: ours, context: {} })).toBe('ImplicitlyDenied');
    expect(
      await evaluateCall(policy, {
        action: 'acm:ImportCertificate',
        resource: 'arn:aws:acm:us-east-1:123456789012:certificate/0b2e1a47-3f52-4a1c-9c2e-6f2d7f1e9a10',
        context: { 'aws:RequestTag/managed-by': 'certkeeper', 'aws:RequestTag/certkeeper:name': 'cdn', 'aws:TagKeys': ['managed-by', 'certkeeper:name'] },
      }),
    ).toBe('Allowed');
    // Without distributions, no CloudFront permission at all.
    expect(
      buildIamPolicy(config())
        .policy.Statement.flatMap((entry) => entry.Action)
        .some((action) => action.startsWith('cloudfront:')),
    ).toBe(false);
  });
});
