import {
  GetHostedZoneCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type GetHostedZoneCommandOutput,
  type ListHostedZonesCommandOutput,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { AssumedRole } from '../aws/clients.js';
import type { Route53Settings } from '../config/schema.js';
import type { AuditLogger } from '../telemetry/logger.js';
import type { Route53Accounts } from './route53-accounts.js';
import type { Route53Gateway, SendOptions } from './route53-gateway.js';

export interface HostedZone {
  id: string;
  /** Without the trailing dot, lower case. */
  name: string;
  /** The role its calls need (a zone in another account); none for the default credentials. */
  role?: AssumedRole;
  /** As Route 53 last listed it: tells whether reading the whole zone is cheaper than reading names one by one. */
  recordSetCount?: number;
}

/** Where a challenge's TXT values go: the name after following CNAMEs, and its zone. */
export interface ChallengeTarget {
  name: string;
  zone: HostedZone;
  /** `_acme-challenge.NAME`, then each CNAME target, when delegated. */
  chain: string[];
}

/** The Route 53 settings of one certificate (config `certificates[].route53`). */
export interface CertificateRoute53 {
  hostedZoneId?: string;
  roleArn?: string;
  externalId?: string;
}

const MAX_CNAME_CHAIN = 8;
// A zone this small is read whole once per pass for its CNAMEs (one or two calls), instead of one call per name.
const WHOLE_ZONE_READ_MAX_SETS = 600;

/**
 * Finds the Route 53 hosted zone that holds a challenge name: the configured zone when one is given,
 * otherwise the public zone with the longest matching suffix (as lego and certbot do), over every zone
 * certkeeper can reach: the default credentials' zones, those of `route53.zones` (through their roles),
 * or, for a certificate with its own role, that account's zones. Private zones are skipped (the CA
 * resolves names on the public internet); a private zone that also matches is logged once.
 * Lives for one pass: listings are cached, so a pass costs pages, not names.
 */
export class HostedZoneFinder {
  private readonly listings = new Map<string, Promise<{ public: HostedZone[]; private: HostedZone[] }>>();
  private readonly byId = new Map<string, Promise<HostedZone>>();
  private readonly cnames = new Map<string, Promise<string | undefined>>();
  private readonly zoneCnames = new Map<string, Promise<Map<string, string>>>();
  private readonly warned = new Set<string>();

  constructor(
    private readonly accounts: Route53Accounts,
    private readonly settings: Pick<Route53Settings, 'zones'> = { zones: [] },
  ) {}

  async zoneFor(recordName: string, certificate: CertificateRoute53 = {}, log?: AuditLogger): Promise<HostedZone> {
    const name = normaliseName(recordName);
    const certificateRole = roleOf(certificate);
    if (certificate.hostedZoneId) {
      const zone = await this.zoneById(certificate.hostedZoneId, certificateRole ?? this.configuredRole(certificate.hostedZoneId));
      if (!isWithin(name, zone.name)) {
        throw new Error(`${name} is not inside hosted zone ${zone.id} (${zone.name}); fix route53.hostedZoneId or remove it to find the zone by name`);
      }
      return zone;
    }
    const reachable = await this.reachableZones(certificateRole);
    const best = longestMatch(reachable.public, name);
    if (!best) {
      throw new Error(
        `no public Route 53 hosted zone contains ${name}; create the zone (and delegate it), set route53.hostedZoneId, or add a zone in another account to route53.zones with its roleArn`,
      );
    }
    const shadow = longestMatch(reachable.private, name);
    if (shadow && shadow.name.length >= best.name.length && !this.warned.has(shadow.id)) {
      this.warned.add(shadow.id);
      log?.warn('dns.zone.private_ignored', {
        name,
        privateHostedZoneId: shadow.id,
        hostedZoneId: best.id,
        zone: best.name,
        why: 'the CA resolves challenges on the public internet: the public zone is used',
      });
    }
    return best;
  }

  /**
   * The zone and name where `_acme-challenge.BASE`'s TXT values must go: a CNAME there (set up to
   * delegate validation, often into a zone in another account) is followed, chain and all. Read from
   * Route 53 itself rather than through resolvers: it is the authoritative data, not a cached copy, it
   * works before a zone is delegated, and the target's zone ID is needed anyway.
   */
  async challengeTarget(base: string, certificate: CertificateRoute53 = {}, log?: AuditLogger): Promise<ChallengeTarget> {
    const chain = [normaliseName(`_acme-challenge.${base}`)];
    let zone = await this.zoneFor(chain[0]!, certificate, log);
    for (;;) {
      const name = chain[chain.length - 1]!;
      const target = await this.cnameAt(zone, name);
      if (!target) return { name, zone, chain };
      if (chain.includes(target)) {
        throw new Error(`CNAME loop for the DNS-01 challenge: ${[...chain, target].join(' → ')}; fix the CNAME records so the chain ends at a name that can hold TXT records`);
      }
      chain.push(target);
      if (chain.length > MAX_CNAME_CHAIN) throw new Error(`CNAME chain for the DNS-01 challenge is longer than ${MAX_CNAME_CHAIN}: ${chain.join(' → ')}`);
      try {
        // The delegation target is found by name; the certificate's hostedZoneId is for its own name only.
        zone = await this.zoneFor(target, { roleArn: certificate.roleArn, externalId: certificate.externalId }, log);
      } catch (error) {
        throw new Error(`the DNS-01 challenge is delegated by CNAME (${chain.join(' → ')}) but ${(error as Error).message}`, { cause: error });
      }
    }
  }

  private cnameAt(zone: HostedZone, name: string): Promise<string | undefined> {
    if ((zone.recordSetCount ?? Infinity) <= WHOLE_ZONE_READ_MAX_SETS) {
      return this.cnamesOfZone(zone).then((cnames) => cnames.get(name));
    }
    const key = `${zone.id}|${name}`;
    let found = this.cnames.get(key);
    if (!found) {
      found = this.accounts
        .gateway(zone.role)
        .send<ListResourceRecordSetsCommandOutput>(new ListResourceRecordSetsCommand({ HostedZoneId: zone.id, StartRecordName: name, StartRecordType: 'CNAME', MaxItems: 1 }))
        .then((answer) => {
          const set = answer.ResourceRecordSets?.[0];
          if (!set || set.Type !== 'CNAME' || normaliseName(set.Name ?? '') !== name) return undefined;
          const value = set.ResourceRecords?.[0]?.Value;
          return value ? normaliseName(value) : undefined;
        });
      found.catch(() => this.cnames.delete(key));
      this.cnames.set(key, found);
    }
    return found;
  }

  /** Every CNAME of a small zone, read once per pass (paged, 300 sets a page). */
  private cnamesOfZone(zone: HostedZone): Promise<Map<string, string>> {
    const key = `${zone.role?.roleArn ?? ''}|${zone.id}`;
    let cnames = this.zoneCnames.get(key);
    if (!cnames) {
      cnames = (async () => {
        const found = new Map<string, string>();
        for (const set of await listRecordSets(this.accounts.gateway(zone.role), zone.id)) {
          const value = set.ResourceRecords?.[0]?.Value;
          if (set.Type === 'CNAME' && value) found.set(normaliseName(set.Name ?? ''), normaliseName(value));
        }
        return found;
      })();
      cnames.catch(() => this.zoneCnames.delete(key));
      this.zoneCnames.set(key, cnames);
    }
    return cnames;
  }

  private configuredRole(zoneId: string): AssumedRole | undefined {
    return roleOf(this.settings.zones.find((zone) => zone.hostedZoneId === zoneId) ?? {});
  }

  private async reachableZones(certificateRole?: AssumedRole): Promise<{ public: HostedZone[]; private: HostedZone[] }> {
    if (certificateRole) return this.listZones(certificateRole);
    const listed = await this.listZones(undefined);
    const configured = await Promise.all(this.settings.zones.map((entry) => this.zoneById(entry.hostedZoneId, roleOf(entry))));
    // A zone named in route53.zones is reached through its role, even if the default credentials list it too.
    const ids = new Set(configured.map((zone) => zone.id));
    return { public: [...listed.public.filter((zone) => !ids.has(zone.id)), ...configured], private: listed.private };
  }

  private listZones(role: AssumedRole | undefined): Promise<{ public: HostedZone[]; private: HostedZone[] }> {
    const key = role?.roleArn ?? '';
    let listing = this.listings.get(key);
    if (!listing) {
      listing = (async () => {
        const gateway = this.accounts.gateway(role);
        const result = { public: [] as HostedZone[], private: [] as HostedZone[] };
        let marker: string | undefined;
        do {
          const page = await gateway.send<ListHostedZonesCommandOutput>(new ListHostedZonesCommand({ Marker: marker }));
          for (const zone of page.HostedZones ?? []) {
            const entry: HostedZone = { id: stripZonePrefix(zone.Id!), name: normaliseName(zone.Name!), role, recordSetCount: zone.ResourceRecordSetCount };
            (zone.Config?.PrivateZone ? result.private : result.public).push(entry);
          }
          marker = page.IsTruncated ? page.NextMarker : undefined;
        } while (marker);
        return result;
      })();
      listing.catch(() => this.listings.delete(key));
      this.listings.set(key, listing);
    }
    return listing;
  }

  private zoneById(id: string, role: AssumedRole | undefined): Promise<HostedZone> {
    const key = `${role?.roleArn ?? ''}|${id}`;
    let zone = this.byId.get(key);
    if (!zone) {
      zone = this.accounts
        .gateway(role)
        .send<GetHostedZoneCommandOutput>(new GetHostedZoneCommand({ Id: id }))
        .then(
          (answer) => ({
            id: stripZonePrefix(answer.HostedZone!.Id!),
            name: normaliseName(answer.HostedZone!.Name!),
            role,
            recordSetCount: answer.HostedZone!.ResourceRecordSetCount,
          }),
          (error: Error) => {
            const via = role ? ` (through role ${role.roleArn})` : '';
            throw new Error(`route53 hosted zone ${id}${via}: ${error.name === 'NoSuchHostedZone' ? 'no such hosted zone' : error.message}`);
          },
        );
      this.byId.set(key, zone);
    }
    return zone;
  }
}

/** Every record set of a zone, 300 a page (Route 53's most per ListResourceRecordSets call). */
export async function listRecordSets(gateway: Route53Gateway, zoneId: string, options: SendOptions = {}): Promise<ResourceRecordSet[]> {
  const sets: ResourceRecordSet[] = [];
  let next: { name?: string; type?: string } | undefined = {};
  while (next) {
    const page: ListResourceRecordSetsCommandOutput = await gateway.send<ListResourceRecordSetsCommandOutput>(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: next.name, StartRecordType: next.type as never, MaxItems: 300 }),
      undefined,
      options,
    );
    sets.push(...(page.ResourceRecordSets ?? []));
    next = page.IsTruncated ? { name: page.NextRecordName, type: page.NextRecordType } : undefined;
  }
  return sets;
}

export function roleOf(entry: { roleArn?: string; externalId?: string }): AssumedRole | undefined {
  return entry.roleArn ? { roleArn: entry.roleArn, ...(entry.externalId && { externalId: entry.externalId }) } : undefined;
}

function longestMatch(zones: HostedZone[], name: string): HostedZone | undefined {
  return zones.filter((zone) => isWithin(name, zone.name)).sort((a, b) => b.name.length - a.name.length)[0];
}

export function stripZonePrefix(id: string): string {
  return id.replace(/^\/hostedzone\//, '');
}

/** Route 53 answers names with a trailing dot and escapes some characters (e.g. `\052` for `*`). */
export function normaliseName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_match, octal: string) => String.fromCharCode(parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

function isWithin(name: string, zoneName: string): boolean {
  return name === zoneName || name.endsWith(`.${zoneName}`);
}
