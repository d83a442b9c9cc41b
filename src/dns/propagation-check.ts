import { lookup } from 'node:dns/promises';
import { Resolver } from 'node:dns/promises';
import { GetHostedZoneCommand, type GetHostedZoneCommandOutput } from '@aws-sdk/client-route-53';
import type { AuditLogger } from '../telemetry/logger.js';
import { sleep } from '../util/sleep.js';
import type { HostedZone } from './hosted-zones.js';
import type { Route53Accounts } from './route53-accounts.js';

export interface PropagationSettings {
  /** "ip" or "ip:port" to ask instead of the zone's own nameservers. */
  resolvers?: string[];
  timeoutSeconds: number;
}

export interface PropagationWait {
  signal?: AbortSignal;
  /** The renewal's logger: `dns.propagation.unverified` goes there. */
  log?: AuditLogger;
  /** The pass: what could not be verified is said once per pass and zone. */
  runId?: string;
}

interface Nameserver {
  /** As given or as named in the delegation set, for messages. */
  label: string;
  /** For Resolver.setServers: "ip", "ip:port" or "[ipv6]:port"; absent when the name did not resolve. */
  address?: string;
  /** Why it cannot be asked (its name does not resolve). */
  unreachable?: string;
}

/** What one nameserver said, or that it said nothing. */
type Reply = { values: string[] } | { error: string; refused?: boolean } | { silent: string };

// Each query waits this long for an answer; a nameserver silent this many times in a row cannot be reached.
const QUERY_TIMEOUT_MS = 2_000;
const SILENT_QUERIES = 3;
// The system resolver may take its own timeouts and retries (5 s × 2 by default) for a name that cannot resolve.
const LOOKUP_TIMEOUT_MS = 5_000;

/**
 * After Route 53 says INSYNC, asks the zone's authoritative nameservers themselves (not a caching
 * resolver, whose answer may be minutes old) for the TXT values, until every one of them serves every
 * value or the time is up. The CA asks the same servers: answering the challenge earlier would fail
 * the validation and count against the CA's failed-validation limit.
 *
 * It fails open when it cannot ask: INSYNC already means every Route 53 server has the change, so a
 * nameserver whose name does not resolve, or that never answers (a network that allows only its own
 * resolver, port 53 blocked), leaves the check *unverified* (`dns.propagation.unverified`, once per pass
 * and zone) and the renewal goes on. An answer is judged: values missing until the timeout fail the
 * renewal, as does REFUSED at once (the server says it does not serve the zone: a delegation or
 * `resolvers` mistake that waiting will not fix, and that the CA would likely meet too). SERVFAIL is an
 * answer from a reachable server that cannot serve the zone now: waited out like a stale value, then a
 * failure, since the CA asking the same server would fail its validation.
 */
export class PropagationCheck {
  private readonly nameservers = new Map<string, Promise<Nameserver[]>>();
  /** Per zone, the pass that last found nameservers it could not ask, and which (asked no more in that pass). */
  private readonly unreachable = new Map<string, { runId: string; nameservers: Map<string, string> }>();

  constructor(
    private readonly accounts: Route53Accounts,
    private readonly settings: PropagationSettings,
  ) {}

  async waitFor(zone: HostedZone, name: string, values: string[], { signal, log, runId }: PropagationWait = {}): Promise<void> {
    const servers = await this.nameserversOf(zone);
    const deadline = Date.now() + this.settings.timeoutSeconds * 1000;
    const known = runId !== undefined && this.unreachable.get(zone.id)?.runId === runId ? this.unreachable.get(zone.id)!.nameservers : undefined;
    const unasked = new Map<string, string>();
    await Promise.all(
      servers.map(async (server) => {
        const why = server.unreachable ?? known?.get(server.label);
        if (why) return void unasked.set(server.label, why);
        let delay = 500;
        let silent = 0;
        for (;;) {
          const reply = await askTxt(server.address!, name);
          if ('silent' in reply) {
            silent++;
            if (silent >= SILENT_QUERIES || Date.now() + delay > deadline) {
              return void unasked.set(server.label, `no answer to ${silent} quer${silent === 1 ? 'y' : 'ies'} (${reply.silent})`);
            }
          } else {
            silent = 0;
            const seen = 'values' in reply ? reply.values : undefined;
            const missing = values.filter((value) => !seen?.includes(value));
            if (missing.length === 0) return;
            // A nameserver that refuses the zone does not serve it: waiting will not change that.
            const refused = 'refused' in reply && reply.refused;
            if (refused || Date.now() + delay > deadline) {
              const answered = 'error' in reply ? reply.error : seen!.length ? JSON.stringify(seen) : 'no TXT values';
              const what = refused
                ? `answers REFUSED for ${name}: it does not serve this zone (is the zone delegated to it?)`
                : `still answers ${answered} for ${name} after ${this.settings.timeoutSeconds} s (route53.propagation.timeoutSeconds)`;
              throw new Error(
                `propagation check: nameserver ${server.label} of zone ${zone.name} (${zone.id}) ${what}; missing ${missing.map((value) => JSON.stringify(value)).join(', ')}`,
              );
            }
          }
          await sleep(delay, signal);
          delay = Math.min(delay * 2, 5_000);
        }
      }),
    );
    // In the order the nameservers are listed, whichever gave up first.
    const inOrder = new Map(servers.flatMap((server) => (unasked.has(server.label) ? [[server.label, unasked.get(server.label)!] as const] : [])));
    if (inOrder.size > 0) this.unverified(zone, inOrder, log, runId);
  }

  /** Says once per pass and zone which nameservers could not be asked, and remembers them for the pass. */
  private unverified(zone: HostedZone, unasked: Map<string, string>, log: AuditLogger | undefined, runId: string | undefined): void {
    const previous = this.unreachable.get(zone.id);
    if (runId !== undefined && previous?.runId === runId) {
      const fresh = [...unasked].filter(([label]) => !previous.nameservers.has(label));
      for (const [label, why] of fresh) previous.nameservers.set(label, why);
      if (fresh.length === 0) return;
    } else if (runId !== undefined) {
      this.unreachable.set(zone.id, { runId, nameservers: new Map(unasked) });
    }
    log?.warn('dns.propagation.unverified', {
      zone: zone.name,
      hostedZoneId: zone.id,
      nameservers: [...unasked.keys()],
      reason: [...unasked].map(([label, why]) => `${label}: ${why}`).join('; '),
      why: 'Route 53 reported the change INSYNC (every Route 53 nameserver has it), so the renewal goes on; set route53.propagation.resolvers to nameservers this network can reach to check them',
    });
  }

  /** The zone's nameservers with their addresses; a name that does not resolve is kept (unreachable) and looked up again next time. */
  private nameserversOf(zone: HostedZone): Promise<Nameserver[]> {
    if (this.settings.resolvers) return Promise.resolve(this.settings.resolvers.map((address) => ({ label: address, address })));
    let servers = this.nameservers.get(zone.id);
    if (!servers) {
      servers = (async () => {
        const answer = await this.accounts.gateway(zone.role).send<GetHostedZoneCommandOutput>(new GetHostedZoneCommand({ Id: zone.id }));
        const names = answer.DelegationSet?.NameServers ?? [];
        if (names.length === 0) throw new Error(`hosted zone ${zone.id} (${zone.name}) has no delegation set to check propagation against; set route53.propagation.resolvers`);
        return Promise.all(names.map((host) => resolveNameserver(host)));
      })();
      const forget = () => void this.nameservers.delete(zone.id);
      servers.then((found) => found.some((server) => server.unreachable) && forget(), forget);
      this.nameservers.set(zone.id, servers);
    }
    return servers;
  }
}

async function resolveNameserver(host: string): Promise<Nameserver> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { address } = await Promise.race([
      lookup(host.replace(/\.$/, '')),
      new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${LOOKUP_TIMEOUT_MS / 1000} s`)), LOOKUP_TIMEOUT_MS))),
    ]);
    return { label: host, address };
  } catch (error) {
    return { label: host, unreachable: `its name does not resolve (${(error as Error).message})` };
  } finally {
    clearTimeout(timer);
  }
}

async function askTxt(address: string, name: string): Promise<Reply> {
  const resolver = new Resolver({ timeout: QUERY_TIMEOUT_MS, tries: 1 });
  resolver.setServers([address]);
  try {
    return { values: (await resolver.resolveTxt(name)).map((strings) => strings.join('')) };
  } catch (error) {
    const code = (error as { code?: string }).code;
    // No record at all is an answer too: "not there yet".
    if (code === 'ENODATA' || code === 'ENOTFOUND') return { values: [] };
    // No answer came back (timeout, or nothing listens / ICMP unreachable): nothing was said about the zone.
    if (code === 'ETIMEOUT' || code === 'ECONNREFUSED') return { silent: code };
    return { error: `an error (${code ?? (error as Error).message})`, refused: code === 'EREFUSED' };
  }
}
