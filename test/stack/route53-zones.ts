import {
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsCommandOutput,
  type HostedZone,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { FreshReads } from './fresh-reads.js';

/** A public hosted zone; names are lower case without the trailing dot. */
export interface Zone {
  id: string;
  name: string;
}

export interface RecordSet {
  /** Lower case, no trailing dot, Route 53's `\052` turned back into `*`. */
  name: string;
  type: string;
  ttl: number;
  /** As Route 53 stores them (TXT values still quoted). Empty for alias records. */
  values: string[];
}

/** A Route 53 client for moto (or LocalStack) at `endpoint`, with the stack's dummy credentials. */
export function route53ClientFor(endpoint: string): Route53Client {
  return new Route53Client({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: 2,
  });
}

/** DNS names compare in lower case, without the root's trailing dot, with Route 53's octal escapes decoded. */
export function normaliseDnsName(name: string): string {
  return name
    .replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

export function isAtOrBelow(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * Reads hosted zones and their records from Route 53 with no caching: every answer comes from a read
 * that started after the call (calls at the same time share one such read: fresh-reads.ts).
 */
export class Route53Zones {
  private readonly zoneLists = new FreshReads(() => this.readPublicZones());
  private readonly zoneRecords = new FreshReads((zoneId) => this.readRecordSets(zoneId));

  constructor(private readonly route53: Route53Client) {}

  publicZones(): Promise<Zone[]> {
    return this.zoneLists.get('');
  }

  recordSets(zoneId: string): Promise<RecordSet[]> {
    return this.zoneRecords.get(zoneId);
  }

  private async readPublicZones(): Promise<Zone[]> {
    const zones: HostedZone[] = [];
    let marker: string | undefined;
    do {
      const page = await this.route53.send(new ListHostedZonesCommand({ Marker: marker }));
      zones.push(...(page.HostedZones ?? []));
      marker = page.IsTruncated ? page.NextMarker : undefined;
    } while (marker);
    return zones.filter((zone) => !zone.Config?.PrivateZone).map((zone) => ({ id: zone.Id!.replace(/^\/hostedzone\//, ''), name: normaliseDnsName(zone.Name!) }));
  }

  private async readRecordSets(zoneId: string): Promise<RecordSet[]> {
    const sets: ResourceRecordSet[] = [];
    let next: { name?: string; type?: string; identifier?: string } | undefined = {};
    while (next) {
      const page: ListResourceRecordSetsCommandOutput = await this.route53.send(
        new ListResourceRecordSetsCommand({
          HostedZoneId: zoneId,
          StartRecordName: next.name,
          StartRecordType: next.type as never,
          StartRecordIdentifier: next.identifier,
        }),
      );
      sets.push(...(page.ResourceRecordSets ?? []));
      next = page.IsTruncated ? { name: page.NextRecordName, type: page.NextRecordType, identifier: page.NextRecordIdentifier } : undefined;
    }
    return sets.map((set) => ({
      name: normaliseDnsName(set.Name!),
      type: set.Type!,
      ttl: set.TTL ?? 300,
      values: (set.ResourceRecords ?? []).map((record) => unwrapMotoValue(record.Value!)),
    }));
  }
}

/**
 * moto 5.2.1 stores the SOA it creates with a new zone as the repr of a Python dict:
 * `{'Value': 'ns-2048.awsdns-64.com. hostmaster.example.com. 1 7200 900 1209600 86400'}`.
 */
function unwrapMotoValue(value: string): string {
  return /^\{'Value': '(.*)'\}$/.exec(value)?.[1] ?? value;
}
