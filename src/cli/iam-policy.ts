import { paginateListHostedZones, Route53Client } from '@aws-sdk/client-route-53';
import { loadConfig } from '../config/load.js';
import { buildIamPolicy, zoneGrants, type KnownZone } from '../aws/iam-policy.js';
import { normaliseName, stripZonePrefix } from '../dns/hosted-zones.js';
import type { CliIo } from './io.js';

/**
 * Prints the IAM policy this config needs. Zones found by name are looked up with ListHostedZones when
 * AWS credentials work (unless --offline), so the policy names them; otherwise it allows any zone and
 * says so on stderr. `--role ARN` prints the policy that role must have instead.
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
  const result = buildIamPolicy(config, zoneGrants(config, knownZones));
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

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
