import type { AcmRegion } from '../targets/acm.js';
import { configuredArns } from './discover.js';

/**
 * A certificate certkeeper imported (tagged with a certificate name) that the config no longer manages:
 * nobody renews it any more, whatever its expiry, and it may still be on a listener, exported or used
 * by CloudFront. `discover` skips certkeeper's certificates, so without this it would lapse silently.
 */
export interface LeftConfigCertificate {
  /** The certificate name of its `certkeeper:name` tag. */
  name: string;
  region: string;
  certificateArn: string;
  domainName: string;
  type: string;
  notAfter: string | null;
  daysLeft: number | null;
  inUseBy: string[];
}

interface ConfigShape {
  certificates: { name: string; acm: { region: string; certificateArn?: string }[] }[];
}

/**
 * certkeeper-tagged certificates in these regions that no configured certificate manages: not at a
 * configured ARN, and not named by a certificate of the config that deploys to that region. Sorted by
 * days left (the soonest first).
 */
export async function findLeftConfig(acmFor: (region: string) => AcmRegion, regions: string[], config: ConfigShape, now = new Date()): Promise<LeftConfigCertificate[]> {
  const arns = configuredArns(config);
  const managed = new Set(config.certificates.flatMap((spec) => spec.acm.map((target) => regionKey(spec.name, target.region))));
  const found = await Promise.all(
    regions.map(async (region) => {
      const acm = acmFor(region);
      const out: LeftConfigCertificate[] = [];
      for (const [name, named] of await acm.namedCertificates()) {
        if (managed.has(regionKey(name, region))) continue;
        for (const certificateArn of named) {
          if (arns.has(certificateArn)) continue;
          const detail = await acm.describe(certificateArn);
          if (!detail) continue; // deleted since the listing
          const left = detail.NotAfter ? (detail.NotAfter.getTime() - now.getTime()) / 86_400_000 : null;
          out.push({
            name,
            region,
            certificateArn,
            domainName: detail.DomainName ?? '',
            type: detail.Type ?? 'UNKNOWN',
            notAfter: detail.NotAfter?.toISOString() ?? null,
            daysLeft: left === null ? null : Math.floor(left * 10) / 10,
            inUseBy: detail.InUseBy ?? [],
          });
        }
      }
      return out;
    }),
  );
  return found.flat().sort((a, b) => (a.daysLeft ?? Infinity) - (b.daysLeft ?? Infinity));
}

/** Why it matters and what to do, for the audit event and the printed lists. */
export function leftConfigWhy(entry: LeftConfigCertificate): string {
  const users = entry.inUseBy.length > 0 ? `still used by ${entry.inUseBy.join(', ')}` : 'used by nothing ACM knows of (it may still be exported or used by CloudFront)';
  return `tagged as certkeeper's certificate "${entry.name}" but no longer in the config, so nobody renews it; ${users}: put "${entry.name}" back in the config, or move its users to another certificate and delete it`;
}

function regionKey(name: string, region: string): string {
  return `${name}\u0000${region}`;
}
