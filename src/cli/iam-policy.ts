import { paginateListHostedZones, Route53Client } from '@aws-sdk/client-route-53';
import { loadConfig } from '../config/load.js';
import { AwsClients } from '../aws/clients.js';
import { buildIamPolicy, normaliseRecordName, zoneGrants, type ChallengeDelegation, type KnownZone } from '../aws/iam-policy.js';
import { challengeBaseName } from '../config/domains.js';
import type { ResolvedConfig } from '../config/schema.js';
import { HostedZoneFinder, normaliseName, stripZonePrefix } from '../dns/hosted-zones.js';
import { Route53Accounts } from '../dns/route53-accounts.js';
import type { CliIo } from './io.js';

/**
 * Prints the IAM policy this config needs. Zones found by name are looked up with ListHostedZones when
 * AWS credentials work (unless --offline), so the policy names them; otherwise it allows any zone and
 * says so on stderr. With credentials, `_acme-challenge` CNAMEs are followed as at run time, so the
 * policy allows the TXT changes at their targets. `--role ARN` prints the policy that role must have instead.
 */
export async function iamPolicyCommand(options: { config: string; offline?: boolean; role?: string }, io: CliIo): Promise<number> {
  const config = await loadConfig(options.config);
  const needsLookup = config.certificates.some((spec) => !spec.route53.hostedZoneId);
  let knownZones: KnownZone[] | undefined;
  if (needsLookup && !options.offline) {
    try {
      knownZones = await listPublicZones(config.aws.region);
    } catch (error) {
      io.stderr.write(`certkeeper: could not list Route 53 hosted zones (${firstLine(error)}); zones found by name are left open\n`);
    }
  }
  let delegations: Map<string, ChallengeDelegation> | undefined;
  if (!options.offline && (knownZones || !needsLookup)) delegations = await findDelegations(config, io);
  const result = buildIamPolicy(config, zoneGrants(config, knownZones, delegations));
  if (options.role) {
    const policy = result.rolePolicies.get(options.role);
    if (!policy) {
      const known = [...result.rolePolicies.keys()];
      io.stderr.write(`certkeeper: --role ${options.role} is not a route53 roleArn of this config; ${known.length ? `expected one of: ${known.join(', ')}` : 'the config assumes no role'}\n`);
      return 2;
    }
    io.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`${JSON.stringify(result.policy, null, 2)}\n`);
  for (const note of result.notes) io.stderr.write(`note: ${note}\n`);
  return 0;
}

async function listPublicZones(region: string): Promise<KnownZone[]> {
  // Few attempts: without credentials this should fail fast and fall back, not retry for a minute.
  const route53 = new Route53Client({ region, maxAttempts: 2 });
  try {
    const zones: KnownZone[] = [];
    for await (const page of paginateListHostedZones({ client: route53 }, {})) {
      for (const zone of page.HostedZones ?? []) {
        if (!zone.Config?.PrivateZone) zones.push({ id: stripZonePrefix(zone.Id!), name: normaliseName(zone.Name!) });
      }
    }
    return zones;
  } finally {
    route53.destroy();
  }
}

/**
 * The `_acme-challenge` names delegated by CNAME, followed by the same code (and credentials, roles)
 * as at run time. A name that cannot be followed is reported and keeps its own name in the policy.
 */
async function findDelegations(config: ResolvedConfig, io: CliIo): Promise<Map<string, ChallengeDelegation> | undefined> {
  const aws = new AwsClients(config.aws.region, config.aws.requestTimeoutSeconds);
  try {
    const finder = new HostedZoneFinder(new Route53Accounts(aws, config.route53.requestsPerSecond), config.route53);
    const found = new Map<string, ChallengeDelegation>();
    for (const spec of config.certificates) {
      for (const base of new Set(spec.domains.map(challengeBaseName))) {
        try {
          const target = await finder.challengeTarget(base, spec.route53);
          if (target.chain.length < 2) continue;
          // The links after the first are found by name with the certificate's role, as at run time.
          const linkRole = { roleArn: spec.route53.roleArn, externalId: spec.route53.externalId };
          const via = await Promise.all(target.chain.slice(1, -1).map((link) => finder.zoneFor(link, linkRole)));
          found.set(normaliseRecordName(target.chain[0]!), {
            name: normaliseRecordName(target.name),
            hostedZoneId: target.zone.id,
            roleArn: target.zone.role?.roleArn,
            externalId: target.zone.role?.externalId,
            via: via.map((zone) => ({ hostedZoneId: zone.id, roleArn: zone.role?.roleArn, externalId: zone.role?.externalId })),
          });
          io.stderr.write(`note: ${target.chain[0]} is delegated by CNAME (${target.chain.join(' → ')}): the TXT changes are allowed at ${target.name} in hosted zone ${target.zone.id} (${target.zone.name})\n`);
        } catch (error) {
          // No credentials, or Route 53 refusing: the same for every name, so say it once.
          if ((error as Error).name === 'CredentialsProviderError' || '$metadata' in (error as object)) {
            io.stderr.write(`certkeeper: could not read Route 53 (${firstLine(error)}); CNAME delegation of _acme-challenge names is not followed\n`);
            return undefined;
          }
          io.stderr.write(`certkeeper: could not follow _acme-challenge.${base} (${firstLine(error)}); the policy names it, not a CNAME target\n`);
        }
      }
    }
    return found;
  } finally {
    aws.destroy();
  }
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
