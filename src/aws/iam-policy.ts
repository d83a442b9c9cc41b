import { challengeBaseName } from '../config/domains.js';
import type { ResolvedConfig } from '../config/schema.js';

/**
 * The IAM policy that exactly one config needs, built from the config alone (pure: no AWS calls).
 * Every statement names why it is there (Sid), and grants only the calls certkeeper makes:
 * src/dns (Route 53), src/targets (ACM, ELBv2, CloudFront), the store, the account key and notifications.
 */

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

/** A hosted zone and the role its calls need (none: the agent's own credentials). */
export interface ZoneRef {
  hostedZoneId: string;
  roleArn?: string;
  externalId?: string;
}

/**
 * Where one `_acme-challenge` name's TXT values go, as certkeeper finds it at run time: `name` (the
 * CNAME target when delegated) is written in the last of `zones`; the zones before it hold the name and
 * the CNAMEs on the way, and are only read.
 */
export interface ChallengeRoute {
  /** Normalised as the condition key compares them (see normaliseRecordName). */
  name: string;
  zones: ZoneRef[];
}

/** The TXT names certkeeper changes in one zone (none: only read), and whose credentials change them. */
export interface ZoneGrant {
  /** Undefined when the zone is found by name at run time and was not looked up: any zone. */
  hostedZoneId?: string;
  /** Normalised as the condition key compares them (see normaliseRecordName). */
  recordNames: string[];
  roleArn?: string;
  externalId?: string;
  /** Some name's zone is found by name at run time (ListHostedZones), even when looked up here. */
  foundByName: boolean;
}

export interface IamPolicyResult {
  /** For the agent's own credentials (instance/task role, user). */
  policy: PolicyDocument;
  /** For each role in route53 roleArn: what that role itself must allow (its trust policy is the owner's). */
  rolePolicies: Map<string, PolicyDocument>;
  /** What the reader must know (printed on stderr): wildcards used and why, what to add on the role side. */
  notes: string[];
}

// Tags certkeeper puts on every certificate it imports (src/targets/acm.ts).
const MANAGED_BY_TAG = 'managed-by';
const MANAGED_BY_VALUE = 'certkeeper';
const NAME_TAG = 'certkeeper:name';
// What only the PEM says, kept with the certificate (src/targets/acm-facts-tag.ts).
const FACTS_TAG = 'certkeeper:facts';

/**
 * DynamoDB calls the shared store makes on its table: the item actions of a lease-and-records store,
 * and Scan, which lists the challenge journal at the start of every pass (the table has no sort key to
 * query by). No table management: the table is created by the operator (e.g. deploy/aws).
 */
const DYNAMODB_STORE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:Scan'];

/** The `_acme-challenge` names each certificate's domains need; a wildcard shares its base name's. */
export function challengeRecordNames(domains: string[]): string[] {
  return [...new Set(domains.map((domain) => normaliseRecordName(`_acme-challenge.${challengeBaseName(domain)}`)))];
}

/**
 * Route 53's normal form for `route53:ChangeResourceRecordSetsNormalizedRecordNames`: lower case, no
 * trailing dot, and every character other than a-z 0-9 - _ . written as a backslash and three octal digits.
 */
export function normaliseRecordName(name: string): string {
  return name
    .toLowerCase()
    .replace(/\.$/, '')
    .replace(/[^a-z0-9._-]/g, (char) => `\\${char.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * Which zone each challenge name is changed in, and through which role. With `routes` (looked up as at
 * run time, see cli/iam-policy.ts) every zone is named, CNAME targets included; a name without a route
 * gets the certificate's `route53.hostedZoneId`, else any zone (with a note).
 */
export function zoneGrants(config: ResolvedConfig, routes?: Map<string, ChallengeRoute>): ZoneGrant[] {
  const zoneRoles = new Map((config.route53?.zones ?? []).map((zone) => [zone.hostedZoneId, zone]));
  const grants = new Map<string, ZoneGrant>();
  const grantFor = (zone: Partial<ZoneRef>, foundByName: boolean) => {
    const key = `${zone.hostedZoneId ?? '*'} ${zone.roleArn ?? ''}`;
    const grant = grants.get(key) ?? { hostedZoneId: zone.hostedZoneId, recordNames: [], roleArn: zone.roleArn, externalId: zone.externalId, foundByName: false };
    grant.foundByName ||= foundByName;
    grants.set(key, grant);
    return grant;
  };
  let searchesByName = false;
  for (const spec of config.certificates) {
    for (const recordName of challengeRecordNames(spec.domains)) {
      const route = routes?.get(recordName);
      // A zone found by name (the name's own, or a CNAME target's) without a certificate role is searched
      // for among every zone reachable: the default account's and each of route53.zones, through its role.
      searchesByName ||= !spec.route53.roleArn && (!spec.route53.hostedZoneId || (route?.zones.length ?? 0) > 1);
      if (route) {
        // The first zone is found by name unless configured; CNAME targets always are (ListHostedZones).
        const grants = route.zones.map((zone, index) => grantFor(zone, index > 0 || !spec.route53.hostedZoneId));
        const written = grants[grants.length - 1]!;
        if (!written.recordNames.includes(route.name)) written.recordNames.push(route.name);
        continue;
      }
      const hostedZoneId = spec.route53.hostedZoneId;
      const viaZone = hostedZoneId ? zoneRoles.get(hostedZoneId) : undefined;
      const role = spec.route53.roleArn ? spec.route53 : viaZone;
      const grant = grantFor({ hostedZoneId, roleArn: role?.roleArn, externalId: role?.externalId }, !hostedZoneId);
      if (!grant.recordNames.includes(recordName)) grant.recordNames.push(recordName);
    }
  }
  if (searchesByName) for (const zone of config.route53?.zones ?? []) grantFor(zone, false);
  return [...grants.values()].map((grant) => ({ ...grant, recordNames: grant.recordNames.sort() }));
}

export function buildIamPolicy(config: ResolvedConfig, grants: ZoneGrant[] = zoneGrants(config)): IamPolicyResult {
  const { partition, account } = accountOf(config);
  const notes: string[] = [];
  const statements: PolicyStatement[] = [];

  // Route 53 with the agent's own credentials.
  const own = grants.filter((grant) => !grant.roleArn);
  if (own.length > 0) statements.push(...route53Statements(own, partition));
  if (own.some((grant) => !grant.hostedZoneId)) {
    notes.push(
      `Route 53: the zone of ${own
        .filter((g) => !g.hostedZoneId)
        .flatMap((g) => g.recordNames)
        .join(', ')} is found by name at run time and was not looked up, ` +
        'so changes are allowed in any hosted zone (still only these TXT names); set route53.hostedZoneId, or run iam-policy with AWS credentials, to name the zone',
    );
  }

  // Roles for zones in other accounts: the agent may assume them; the Route 53 grants go on the role.
  const rolePolicies = new Map<string, PolicyDocument>();
  const byRole = new Map<string, ZoneGrant[]>();
  for (const grant of grants.filter((g) => g.roleArn)) byRole.set(grant.roleArn!, [...(byRole.get(grant.roleArn!) ?? []), grant]);
  if (byRole.size > 0) {
    statements.push({ Sid: 'AssumeRoute53Roles', Effect: 'Allow', Action: ['sts:AssumeRole'], Resource: [...byRole.keys()].sort() });
    for (const [roleArn, roleGrants] of [...byRole].sort(([a], [b]) => a.localeCompare(b))) {
      rolePolicies.set(roleArn, { Version: '2012-10-17', Statement: route53Statements(roleGrants, partitionOf(roleArn) ?? partition) });
      const externalId = roleGrants.find((g) => g.externalId)?.externalId;
      notes.push(
        `Route 53 through ${roleArn}: attach the policy printed by \`certkeeper iam-policy --role ${roleArn}\` to that role, and let its trust policy allow ` +
          `sts:AssumeRole by this agent's principal${externalId ? ' with the condition StringEquals sts:ExternalId (the configured externalId)' : ''}`,
      );
    }
  }

  statements.push(...acmStatements(config, partition, account));
  statements.push(...listenerStatements(config));
  statements.push(...cloudFrontStatements(config, partition, account));

  if (config.store.type === 'dynamodb') {
    const region = config.store.region ?? config.aws.region;
    statements.push({
      Sid: 'StoreTable',
      Effect: 'Allow',
      Action: DYNAMODB_STORE_ACTIONS,
      Resource: `arn:${partition}:dynamodb:${region}:${account}:table/${config.store.tableName}`,
    });
  }

  const accountKey = config.acme.accountKey;
  if (accountKey?.secretsManager) {
    const { secretId, region = config.aws.region } = accountKey.secretsManager;
    statements.push({
      Sid: 'AcmeAccountKeySecret',
      Effect: 'Allow',
      // Read on every run; written once when missing or empty (a secret created by a template has no value yet).
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue'],
      Resource: secretArn(secretId, partition, region, account),
    });
    const base = secretId.startsWith('arn:') ? secretId.slice(secretId.indexOf(':secret:') + ':secret:'.length).replace(/-[A-Za-z0-9]{6}$/, '') : secretId;
    statements.push({
      Sid: 'KeptIssuedKeySecrets',
      Effect: 'Allow',
      // The key of a certificate issued and not yet deployed waits next to the account key, and is deleted once deployed.
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:CreateSecret', 'secretsmanager:PutSecretValue', 'secretsmanager:DeleteSecret'],
      Resource: `arn:${partition}:secretsmanager:${region}:${account}:secret:${base}/issued/*`,
    });
    notes.push('Secrets Manager: with a customer managed KMS key on the secret, also allow kms:Decrypt and kms:GenerateDataKey on that key');
  } else if (accountKey?.ssm) {
    const { parameterName, region = config.aws.region } = accountKey.ssm;
    statements.push({
      Sid: 'AcmeAccountKeyParameter',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:PutParameter'],
      Resource: `arn:${partition}:ssm:${region}:${account}:parameter/${parameterName.replace(/^\//, '')}`,
    });
    statements.push({
      Sid: 'KeptIssuedKeyParameters',
      Effect: 'Allow',
      // The key of a certificate issued and not yet deployed waits next to the account key, and is deleted once deployed.
      Action: ['ssm:GetParameter', 'ssm:PutParameter', 'ssm:DeleteParameter'],
      Resource: `arn:${partition}:ssm:${region}:${account}:parameter/${parameterName.replace(/^\//, '')}/issued/*`,
    });
    notes.push('SSM: the SecureString uses the aws/ssm key unless told otherwise; with a customer managed KMS key also allow kms:Decrypt and kms:Encrypt on it');
  }

  if (config.notifications?.snsTopicArn) {
    statements.push({ Sid: 'Notify', Effect: 'Allow', Action: ['sns:Publish'], Resource: config.notifications.snsTopicArn });
  }

  if (account === '*')
    notes.push('the AWS account could not be read from any ARN in the config: resources name any account ("*"); the policy still only works in the account it is attached in');
  return { policy: { Version: '2012-10-17', Statement: statements }, rolePolicies, notes };
}

function route53Statements(grants: ZoneGrant[], partition: string): PolicyStatement[] {
  const prefix = 'Route53';
  const zoneArn = (grant: ZoneGrant) => `arn:${partition}:route53:::hostedzone/${grant.hostedZoneId ?? '*'}`;
  const zones = [...new Set(grants.map(zoneArn))].sort();
  const statements: PolicyStatement[] = [];
  // ListHostedZones (to find a zone by name) takes no resource; GetChange is on change/ID, unknown before the change.
  if (grants.some((grant) => grant.foundByName)) statements.push({ Sid: `${prefix}ListZones`, Effect: 'Allow', Action: ['route53:ListHostedZones'], Resource: '*' });
  statements.push(
    { Sid: `${prefix}WaitForChanges`, Effect: 'Allow', Action: ['route53:GetChange'], Resource: `arn:${partition}:route53:::change/*` },
    { Sid: `${prefix}ReadZones`, Effect: 'Allow', Action: ['route53:GetHostedZone', 'route53:ListResourceRecordSets'], Resource: zones.length === 1 ? zones[0]! : zones },
  );
  // One statement per zone written in: its own challenge names only. The Null check makes the grant
  // require the keys (ForAllValues alone is true when a key is absent).
  const written = grants.filter((grant) => grant.recordNames.length > 0);
  written.forEach((grant, index) => {
    statements.push({
      Sid: `${prefix}ChallengeRecords${written.length > 1 ? index + 1 : ''}`,
      Effect: 'Allow',
      Action: ['route53:ChangeResourceRecordSets'],
      Resource: zoneArn(grant),
      Condition: {
        'ForAllValues:StringEquals': {
          'route53:ChangeResourceRecordSetsRecordTypes': ['TXT'],
          // certkeeper replaces a record set by DELETE of exactly what it read + CREATE (never UPSERT, which could
          // overwrite another run's values): Route 53 refuses the pair if the set changed in between.
          'route53:ChangeResourceRecordSetsActions': ['CREATE', 'DELETE'],
        },
        'ForAllValues:StringLike': { 'route53:ChangeResourceRecordSetsNormalizedRecordNames': grant.recordNames },
        Null: {
          'route53:ChangeResourceRecordSetsRecordTypes': 'false',
          'route53:ChangeResourceRecordSetsActions': 'false',
          'route53:ChangeResourceRecordSetsNormalizedRecordNames': 'false',
        },
      },
    });
  });
  return statements;
}

function acmStatements(config: ResolvedConfig, partition: string, account: string): PolicyStatement[] {
  const targetRegions = [...new Set(config.certificates.flatMap((spec) => spec.acm.map((target) => target.region)))].sort();
  const readRegions = [...new Set([...targetRegions, ...(config.discovery.regions ?? [config.aws.region])])].sort();
  const certificates = (regions: string[]) => {
    const arns = regions.map((region) => `arn:${partition}:acm:${region}:${account}:certificate/*`);
    return arns.length === 1 ? arns[0]! : arns;
  };
  const names = config.certificates.map((spec) => spec.name).sort();
  const configuredArns = [...new Set(config.certificates.flatMap((spec) => spec.acm.flatMap((target) => (target.certificateArn ? [target.certificateArn] : []))))].sort();
  const statements: PolicyStatement[] = [
    { Sid: 'AcmList', Effect: 'Allow', Action: ['acm:ListCertificates'], Resource: '*' },
    // Owner tags of a whole region in a few pages instead of one ListTagsForCertificate per certificate.
    { Sid: 'FindTaggedCertificates', Effect: 'Allow', Action: ['tag:GetResources'], Resource: '*' },
    // Finding its own certificates means reading the tags of every imported one; `discover` describes all.
    { Sid: 'AcmRead', Effect: 'Allow', Action: ['acm:DescribeCertificate', 'acm:GetCertificate', 'acm:ListTagsForCertificate'], Resource: certificates(readRegions) },
    // A new import must carry certkeeper's tags (ImportCertificate with Tags also authorises AddTagsToCertificate);
    // the facts tag (acm-facts-tag.ts) spares a fleet's pass one GetCertificate per certificate.
    {
      Sid: 'AcmImportNewTagged',
      Effect: 'Allow',
      Action: ['acm:ImportCertificate', 'acm:AddTagsToCertificate'],
      Resource: certificates(targetRegions),
      Condition: {
        StringEquals: { [`aws:RequestTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE, [`aws:RequestTag/${NAME_TAG}`]: names },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [MANAGED_BY_TAG, NAME_TAG, FACTS_TAG] },
      },
    },
    // Re-import, re-tag and retire only certificates tagged as one of this config's.
    {
      Sid: 'AcmManageTagged',
      Effect: 'Allow',
      Action: ['acm:ImportCertificate', 'acm:AddTagsToCertificate', 'acm:DeleteCertificate'],
      Resource: certificates(targetRegions),
      Condition: { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: MANAGED_BY_VALUE, [`aws:ResourceTag/${NAME_TAG}`]: names } },
    },
  ];
  if (configuredArns.length > 0) {
    // Named in the config, so certkeeper's even before it has tagged them (the first re-import tags them).
    statements.push({
      Sid: 'AcmManageConfigured',
      Effect: 'Allow',
      Action: ['acm:ImportCertificate', 'acm:AddTagsToCertificate', 'acm:DeleteCertificate'],
      Resource: configuredArns.length === 1 ? configuredArns[0]! : configuredArns,
      Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': [MANAGED_BY_TAG, NAME_TAG, FACTS_TAG] } },
    });
  }
  return statements;
}

function listenerStatements(config: ResolvedConfig): PolicyStatement[] {
  const listeners = config.certificates.flatMap((spec) => spec.acm.flatMap((target) => target.listeners));
  if (listeners.length === 0) return [];
  const arns = (mode: 'default' | 'sni') => [...new Set(listeners.filter((l) => l.mode === mode).map((l) => l.arn))].sort();
  const one = (list: string[]) => (list.length === 1 ? list[0]! : list);
  const statements: PolicyStatement[] = [
    // Describe calls take no resource-level permissions.
    { Sid: 'ListenersRead', Effect: 'Allow', Action: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeListenerCertificates'], Resource: '*' },
  ];
  if (arns('default').length > 0) {
    statements.push({ Sid: 'ListenersDefaultCertificate', Effect: 'Allow', Action: ['elasticloadbalancing:ModifyListener'], Resource: one(arns('default')) });
  }
  if (arns('sni').length > 0) {
    statements.push({
      Sid: 'ListenersSniCertificates',
      Effect: 'Allow',
      Action: ['elasticloadbalancing:AddListenerCertificates', 'elasticloadbalancing:RemoveListenerCertificates'],
      Resource: one(arns('sni')),
    });
  }
  return statements;
}

/** CloudFront distributions whose viewer certificate certkeeper sets (src/targets/cloudfront-distributions.ts): exactly those. */
function cloudFrontStatements(config: ResolvedConfig, partition: string, account: string): PolicyStatement[] {
  const ids = [...new Set(config.certificates.flatMap((spec) => spec.cloudfront.map((entry) => entry.distributionId)))].sort();
  if (ids.length === 0) return [];
  const arns = ids.map((id) => `arn:${partition}:cloudfront::${account}:distribution/${id}`);
  return [
    {
      Sid: 'CloudFrontViewerCertificate',
      Effect: 'Allow',
      Action: ['cloudfront:GetDistributionConfig', 'cloudfront:UpdateDistribution'],
      Resource: arns.length === 1 ? arns[0]! : arns,
    },
  ];
}

/** A secret named, or given by ARN; Secrets Manager appends six random characters to a secret's ARN. */
function secretArn(secretId: string, partition: string, region: string, account: string): string {
  if (secretId.startsWith('arn:')) return /-[A-Za-z0-9]{6}$/.test(secretId) ? secretId : `${secretId}-??????`;
  return `arn:${partition}:secretsmanager:${region}:${account}:secret:${secretId}-??????`;
}

/** The partition and account of the config's ARNs (listeners, certificates, topic); "*" when none or several. */
function accountOf(config: ResolvedConfig): { partition: string; account: string } {
  const arns = [
    ...config.certificates.flatMap((spec) => spec.acm.flatMap((target) => [target.certificateArn, ...target.listeners.map((l) => l.arn)])),
    config.notifications?.snsTopicArn,
  ].filter((arn): arn is string => Boolean(arn));
  const accounts = new Set(arns.map((arn) => arn.split(':')[4]));
  const partitions = new Set(arns.map((arn) => arn.split(':')[1]));
  return {
    partition: partitions.size === 1 ? [...partitions][0]! : 'aws',
    account: accounts.size === 1 ? [...accounts][0]! : '*',
  };
}

function partitionOf(arn: string): string | undefined {
  return arn.split(':')[1];
}
