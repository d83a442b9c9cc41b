import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { GetHostedZoneCommand, type GetHostedZoneCommandOutput } from '@aws-sdk/client-route-53';
import { sleep } from '../util/sleep.js';
import type { HostedZone } from './hosted-zones.js';
import type { Route53Accounts } from './route53-accounts.js';

export interface PropagationSettings {
  /** "ip" or "ip:port" to ask instead of the zone's own nameservers. */
  resolvers?: string[];
  timeoutSeconds: number;
}

interface Nameserver {
  /** As given or as named in the delegation set, for messages. */
  label: string;
  /** For Resolver.setServers: "ip", "ip:port" or "[ipv6]:port". */
  address: string;
}

/**
 * After Route 53 says INSYNC, asks the zone's authoritative nameservers themselves (not a caching
 * resolver, whose answer may be minutes old) for the TXT values, until every one of them serves every
 * value or the time is up. The CA asks the same servers: answering the challenge earlier would fail
 * the validation and count against the CA's failed-validation limit.
 */
export class PropagationCheck {
  private readonly nameservers = new Map<string, Promise<Nameserver[]>>();

  constructor(
    private readonly accounts: Route53Accounts,
    private readonly settings: PropagationSettings,
  ) {}

  async waitFor(zone: HostedZone, name: string, values: string[], signal?: AbortSignal): Promise<void> {
    const servers = await this.nameserversOf(zone);
    const deadline = Date.now() + this.settings.timeoutSeconds * 1000;
    await Promise.all(
      servers.map(async (server) => {
        let delay = 500;
        for (;;) {
          const seen = await askTxt(server, name);
          const missing = values.filter((value) => !seen.values?.includes(value));
          if (missing.length === 0) return;
          // A nameserver that refuses the zone does not serve it: waiting will not change that.
          if (seen.refused || Date.now() + delay > deadline) {
            const answered = seen.error ?? (seen.values!.length ? JSON.stringify(seen.values) : 'no TXT values');
            const what = seen.refused
              ? `answers REFUSED for ${name}: it does not serve this zone (is the zone delegated to it?)`
              : `still answers ${answered} for ${name} after ${this.settings.timeoutSeconds} s (route53.propagation.timeoutSeconds)`;
            throw new Error(
              `propagation check: nameserver ${server.label} of zone ${zone.name} (${zone.id}) ${what}; missing ${missing.map((value) => JSON.stringify(value)).join(', ')}`,
            );
          }
          await sleep(delay, signal);
          delay = Math.min(delay * 2, 5_000);
        }
      }),
    );
  }

  private nameserversOf(zone: HostedZone): Promise<Nameserver[]> {
    if (this.settings.resolvers) return Promise.resolve(this.settings.resolvers.map((address) => ({ label: address, address })));
    let servers = this.nameservers.get(zone.id);
    if (!servers) {
      servers = (async () => {
        const answer = await this.accounts.gateway(zone.role).send<GetHostedZoneCommandOutput>(new GetHostedZoneCommand({ Id: zone.id }));
        const names = answer.DelegationSet?.NameServers ?? [];
        if (names.length === 0) throw new Error(`hosted zone ${zone.id} (${zone.name}) has no delegation set to check propagation against; set route53.propagation.resolvers`);
        return Promise.all(
          names.map(async (host) => {
            try {
              const { address } = await lookup(host.replace(/\.$/, ''));
              return { label: host, address };
            } catch (error) {
              throw new Error(`nameserver ${host} of zone ${zone.name} does not resolve (${(error as Error).message}); set route53.propagation.resolvers or route53.propagation.check: false`);
            }
          }),
        );
      })();
      servers.catch(() => this.nameservers.delete(zone.id));
      this.nameservers.set(zone.id, servers);
    }
    return servers;
  }
}

async function askTxt(server: Nameserver, name: string): Promise<{ values?: string[]; error?: string; refused?: boolean }> {
  const resolver = new Resolver({ timeout: 2_000, tries: 1 });
  resolver.setServers([server.address]);
  try {
    return { values: (await resolver.resolveTxt(name)).map((strings) => strings.join('')) };
  } catch (error) {
    const code = (error as { code?: string }).code;
    // No record at all is an answer too: "not there yet".
    if (code === 'ENODATA' || code === 'ENOTFOUND') return { values: [] };
    return { error: `an error (${code ?? (error as Error).message})`, refused: code === 'EREFUSED' };
  }
}
