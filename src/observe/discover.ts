import { DescribeCertificateCommand, ListTagsForCertificateCommand, paginateListCertificates, type ACMClient } from '@aws-sdk/client-acm';
import { ALL_KEY_TYPES, MANAGED_BY_TAG, MANAGED_BY_VALUE } from '../targets/acm.js';

/** An ACM certificate nobody told certkeeper about, close to expiry. */
export interface UnmanagedCertificate {
  region: string;
  certificateArn: string;
  domainName: string;
  type: string;
  notAfter: string;
  daysLeft: number;
  inUseBy: string[];
}

/**
 * The safety net for certificates outside the config: every ACM certificate in these regions that
 * expires within `withinDays` and is not certkeeper's (by tag or by configured ARN). AWS sends no
 * "expired" event for imported certificates, so this is where such a lapse is seen coming.
 */
export async function discoverUnmanaged(
  acmFor: (region: string) => ACMClient,
  regions: string[],
  withinDays: number,
  configuredArns: Set<string>,
  now = new Date(),
): Promise<UnmanagedCertificate[]> {
  const found = await Promise.all(
    regions.map(async (region) => {
      const acm = acmFor(region);
      const out: UnmanagedCertificate[] = [];
      for await (const page of paginateListCertificates({ client: acm }, { Includes: { keyTypes: ALL_KEY_TYPES } })) {
        for (const summary of page.CertificateSummaryList ?? []) {
          const arn = summary.CertificateArn!;
          if (configuredArns.has(arn)) continue;
          const { Certificate: certificate } = await acm.send(new DescribeCertificateCommand({ CertificateArn: arn }));
          const notAfter = certificate?.NotAfter;
          if (!notAfter) continue;
          const daysLeft = (notAfter.getTime() - now.getTime()) / 86_400_000;
          if (daysLeft > withinDays) continue;
          const tags = (await acm.send(new ListTagsForCertificateCommand({ CertificateArn: arn }))).Tags ?? [];
          if (tags.some((tag) => tag.Key === MANAGED_BY_TAG && tag.Value === MANAGED_BY_VALUE)) continue;
          out.push({
            region,
            certificateArn: arn,
            domainName: certificate.DomainName ?? '',
            type: certificate.Type ?? 'UNKNOWN',
            notAfter: notAfter.toISOString(),
            daysLeft: Math.floor(daysLeft * 10) / 10,
            inUseBy: certificate.InUseBy ?? [],
          });
        }
      }
      return out;
    }),
  );
  return found.flat().sort((a, b) => a.daysLeft - b.daysLeft);
}

/** Where to look by default: the agent's region and every region a certificate is deployed to. */
export function discoveryRegions(config: { aws: { region: string }; discovery: { regions?: string[] }; certificates: { acm: { region: string }[] }[] }): string[] {
  return config.discovery.regions ?? [...new Set([config.aws.region, ...config.certificates.flatMap((spec) => spec.acm.map((target) => target.region))])];
}

export function configuredArns(config: { certificates: { acm: { certificateArn?: string }[] }[] }): Set<string> {
  return new Set(config.certificates.flatMap((spec) => spec.acm.flatMap((target) => (target.certificateArn ? [target.certificateArn] : []))));
}
