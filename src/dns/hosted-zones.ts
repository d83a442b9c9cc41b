import { GetHostedZoneCommand, paginateListHostedZones, type Route53Client } from '@aws-sdk/client-route-53';

export interface HostedZone {
  id: string;
  /** Without the trailing dot, lower case. */
  name: string;
}

/**
 * Finds the Route 53 hosted zone that holds a challenge name: the configured zone when one is given,
 * otherwise the public zone with the longest matching suffix (as lego and certbot do). Private zones
 * are skipped: the CA resolves names on the public internet.
 */
export class HostedZoneFinder {
  private publicZones?: Promise<HostedZone[]>;
  private readonly byId = new Map<string, Promise<HostedZone>>();

  constructor(private readonly route53: Route53Client) {}

  async zoneFor(recordName: string, configuredZoneId?: string): Promise<HostedZone> {
    const name = normaliseName(recordName);
    if (configuredZoneId) {
      const zone = await this.zoneById(configuredZoneId);
      if (!isWithin(name, zone.name)) {
        throw new Error(`${name} is not inside hosted zone ${zone.id} (${zone.name}); fix route53.hostedZoneId or remove it to find the zone by name`);
      }
      return zone;
    }
    const candidates = (await this.listPublicZones()).filter((zone) => isWithin(name, zone.name));
    const best = candidates.sort((a, b) => b.name.length - a.name.length)[0];
    if (!best) {
      throw new Error(`no public Route 53 hosted zone contains ${name}; create the zone (and delegate it) or set route53.hostedZoneId`);
    }
    return best;
  }

  private zoneById(id: string): Promise<HostedZone> {
    let zone = this.byId.get(id);
    if (!zone) {
      zone = this.route53.send(new GetHostedZoneCommand({ Id: id })).then(
        (answer) => ({ id: stripZonePrefix(answer.HostedZone!.Id!), name: normaliseName(answer.HostedZone!.Name!) }),
        (error: Error) => {
          throw new Error(`route53.hostedZoneId ${id}: ${error.name === 'NoSuchHostedZone' ? 'no such hosted zone' : error.message}`);
        },
      );
      this.byId.set(id, zone);
    }
    return zone;
  }

  private listPublicZones(): Promise<HostedZone[]> {
    this.publicZones ??= (async () => {
      const zones: HostedZone[] = [];
      for await (const page of paginateListHostedZones({ client: this.route53 }, {})) {
        for (const zone of page.HostedZones ?? []) {
          if (zone.Config?.PrivateZone) continue;
          zones.push({ id: stripZonePrefix(zone.Id!), name: normaliseName(zone.Name!) });
        }
      }
      return zones;
    })();
    return this.publicZones;
  }
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
