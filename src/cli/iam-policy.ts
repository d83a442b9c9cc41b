import { AwsClients } from '../aws/clients.js';
import { buildIamPolicy, normaliseRecordName, zoneGrants, type ChallengeRoute, type ZoneRef } from '../aws/iam-policy.js';
import { challengeBaseName } from '../config/domains.js';
import { loadConfig } from '../config/load.js';
import type { ResolvedConfig } from '../config/schema.js';
import { HostedZoneFinder, type HostedZone } from '../dns/hosted-zones.js';
import { Route53Accounts } from '../dns/route53-accounts.js';
import { createLogger } from '../telemetry/logger.js';
import type { CliIo } from './io.js';
import { resolveLogFormat, type LogFormat } from './output-mode.js';

/** A note for the person reading: plain text at a terminal, otherwise one JSON event, as every stderr line is. */
type Say = Record<'info' | 'warn' | 'error', (event: string, text: string) => void>;

function sayer(io: CliIo, logFormat: LogFormat | undefined): Say {
  const log = resolveLogFormat(io.stderr, logFormat) === 'pretty' ? undefined : createLogger({ stream: io.stderr, pretty: false });
  const to = (level: keyof Say) => (event: string, text: string) => (log ? log[level](event, { text }) : void io.stderr.write(`${text}\n`));
  return { info: to('info'), warn: to('warn'), error: to('error') };
}

/**
 * Prints the IAM policy this config needs. Unless --offline, every challenge name is placed as renewals
 * place it (the same HostedZoneFinder: longest public zone, route53.zones and certificate roles, CNAME
 * delegation followed), so the policy names each zone and the name written there; a name that cannot be
 * placed (no credentials, no zone) keeps its configured zone or any zone, and stderr says so.
 * `--role ARN` prints the policy that role must have instead.
 */
export async function iamPolicyCommand(options: { config: string; offline?: boolean; role?: string; logFormat?: LogFormat }, io: CliIo): Promise<number> {
  const config = await loadConfig(options.config);
  const say = sayer(io, options.logFormat);
  const routes = options.offline ? undefined : await findChallengeRoutes(config, say);
  const result = buildIamPolicy(config, zoneGrants(config, routes));
  if (options.role) {
    const policy = result.rolePolicies.get(options.role);
    if (!policy) {
      const known = [...result.rolePolicies.keys()];
      say.error(
        'cli.usage_error',
        `certkeeper: --role ${options.role} is not a route53 roleArn of this config; ${known.length ? `expected one of: ${known.join(', ')}` : 'the config assumes no role'}`,
      );
      return 2;
    }
    io.stdout.write(`${JSON.stringify(policy, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`${JSON.stringify(result.policy, null, 2)}\n`);
  for (const note of result.notes) say.info('iam_policy.note', `note: ${note}`);
  return 0;
}

/** Where each challenge name's TXT values go, found with the run-time code and credentials. */
async function findChallengeRoutes(config: ResolvedConfig, say: Say): Promise<Map<string, ChallengeRoute> | undefined> {
  const aws = new AwsClients(config.aws.region, config.aws.requestTimeoutSeconds, config.aws.requestRates);
  try {
    const finder = new HostedZoneFinder(new Route53Accounts(aws, config.route53.requestsPerSecond), config.route53);
    const routes = new Map<string, ChallengeRoute>();
    for (const spec of config.certificates) {
      for (const base of new Set(spec.domains.map(challengeBaseName))) {
        try {
          const target = await finder.challengeTarget(base, spec.route53);
          // The zones of the chain before the target: cached by the finder, which just found them.
          const before = await Promise.all(
            target.chain
              .slice(0, -1)
              .map((link, index) => finder.zoneFor(link, index === 0 ? spec.route53 : { roleArn: spec.route53.roleArn, externalId: spec.route53.externalId })),
          );
          routes.set(normaliseRecordName(target.chain[0]!), { name: normaliseRecordName(target.name), zones: [...before, target.zone].map(zoneRef) });
          if (target.chain.length > 1) {
            say.info(
              'iam_policy.note',
              `note: ${target.chain[0]} is delegated by CNAME (${target.chain.join(' → ')}): the TXT changes are allowed at ${target.name} in hosted zone ${target.zone.id} (${target.zone.name})`,
            );
          }
        } catch (error) {
          // No credentials, or Route 53 refusing: the same for every name, so say it once.
          if ((error as Error).name === 'CredentialsProviderError' || '$metadata' in (error as object)) {
            say.warn(
              'iam_policy.route53_unreadable',
              `certkeeper: could not read Route 53 (${firstLine(error)}); zones found by name are left open and CNAME delegation is not followed`,
            );
            return undefined;
          }
          say.warn('iam_policy.unplaced', `certkeeper: could not place _acme-challenge.${base} (${firstLine(error)}); the policy names it in its configured zone, or any zone`);
        }
      }
    }
    return routes;
  } finally {
    aws.destroy();
  }
}

function zoneRef(zone: HostedZone): ZoneRef {
  return { hostedZoneId: zone.id, ...(zone.role && { roleArn: zone.role.roleArn, externalId: zone.role.externalId }) };
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] ?? text;
}
