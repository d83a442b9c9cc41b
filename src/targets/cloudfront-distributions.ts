import type { CloudFrontClient, DistributionConfig } from '@aws-sdk/client-cloudfront';
import { CLOUDFRONT_ACM_REGION, type CertificateSpec } from '../config/schema.js';
import type { PreflightCheck } from '../ports/preflight-check.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { memoByKey } from '../util/memo-by-key.js';
import type { Place, PlaceKind } from './places.js';

/** The TLS policy set when a distribution had CloudFront's own certificate (whose policy is TLSv1). */
const DEFAULT_MINIMUM_PROTOCOL = 'TLSv1.2_2021';

interface ReadConfig {
  config: DistributionConfig;
  etag: string;
}

/**
 * The CloudFront distributions of a certificate (`cloudfront: [{ distributionId }]`), as places of the
 * ACM deployer in us-east-1. A distribution is bound by setting its viewer certificate (GetDistributionConfig,
 * then UpdateDistribution with its ETag); nothing waits for the change to be Deployed at the edges,
 * the `verify` endpoints say when it is served.
 */
export function cloudFrontPlaces(cloudfront: () => Promise<CloudFrontClient>): PlaceKind {
  return {
    forPass() {
      const readOnce = memoByKey(async (id: string) => readDistribution(await cloudfront(), id));
      return (spec: CertificateSpec, region: string, certificateAt: string) => {
        if (region !== CLOUDFRONT_ACM_REGION) return [];
        return spec.cloudfront.map(({ distributionId }, index): Place => ({
          kind: 'CloudFront distribution',
          id: distributionId,
          carries: async (certificateArn) => servesArn((await readOnce(distributionId)).config, certificateArn),
          bind: async (certificateArn, _replaced, log) => bindDistribution(await cloudfront(), distributionId, certificateArn, log),
          // ACM's InUseBy names it arn:aws:cloudfront::ACCOUNT:distribution/ID.
          claims: (user) => (user.startsWith('arn:') && user.split(':')[2] === 'cloudfront' && user.endsWith(`:distribution/${distributionId}`) ? 'own' : undefined),
          preflight: () => checkDistribution(distributionId, `${certificateAt}.cloudfront[${index}]`, readOnce),
        }));
      };
    },
  };
}

async function readDistribution(client: CloudFrontClient, id: string): Promise<ReadConfig> {
  // Already loaded with the client (AwsClients.cloudfront); imported here so that no other pass loads CloudFront's SDK.
  const { GetDistributionConfigCommand } = await import('@aws-sdk/client-cloudfront');
  const answer = await client.send(new GetDistributionConfigCommand({ Id: id }));
  if (!answer.DistributionConfig || !answer.ETag) throw new Error(`CloudFront distribution ${id}: GetDistributionConfig gave no configuration or ETag`);
  return { config: answer.DistributionConfig, etag: answer.ETag };
}

function servesArn(config: DistributionConfig, certificateArn: string): boolean {
  const viewer = config.ViewerCertificate;
  return viewer?.ACMCertificateArn === certificateArn && viewer.CloudFrontDefaultCertificate !== true;
}

/**
 * Sets the distribution's viewer certificate to `certificateArn` unless it is that already; SNI only,
 * the TLS policy kept as the distribution has it. An ETag that changed meanwhile (someone else updated
 * it) is read again once.
 */
async function bindDistribution(client: CloudFrontClient, id: string, certificateArn: string, log: AuditLogger): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { config, etag } = await readDistribution(client, id);
      if (servesArn(config, certificateArn)) return;
      const previous = config.ViewerCertificate;
      const hadDefault = !previous?.ACMCertificateArn && !previous?.IAMCertificateId;
      const minimumProtocolVersion = hadDefault ? DEFAULT_MINIMUM_PROTOCOL : (previous?.MinimumProtocolVersion ?? DEFAULT_MINIMUM_PROTOCOL);
      const { UpdateDistributionCommand } = await import('@aws-sdk/client-cloudfront');
      await client.send(
        new UpdateDistributionCommand({
          Id: id,
          IfMatch: etag,
          DistributionConfig: {
            ...config,
            ViewerCertificate: {
              ACMCertificateArn: certificateArn,
              SSLSupportMethod: 'sni-only',
              MinimumProtocolVersion: minimumProtocolVersion,
              CloudFrontDefaultCertificate: false,
            },
          },
        }),
      );
      log.info('cloudfront.updated', { distributionId: id, previousCertificateArn: previous?.ACMCertificateArn || null, certificateArn, minimumProtocolVersion });
      return;
    } catch (error) {
      if ((error as Error).name === 'PreconditionFailed' && attempt < 2) continue;
      // AWS's own message does not say which distribution.
      throw new Error(`CloudFront distribution ${id}: cannot make it serve ${certificateArn}: ${describeError(error)}`, { cause: error });
    }
  }
}

async function checkDistribution(id: string, at: string, readOnce: (id: string) => Promise<ReadConfig>): Promise<PreflightCheck> {
  try {
    const { config } = await readOnce(id);
    const current = config.ViewerCertificate?.ACMCertificateArn;
    return { check: 'cloudfront', ok: true, detail: `CloudFront distribution ${id} exists${current ? ` (viewer certificate ${current})` : ' (CloudFront default certificate)'}` };
  } catch (error) {
    if ((error as Error).name === 'NoSuchDistribution') {
      return {
        check: 'cloudfront',
        ok: false,
        detail: `CloudFront distribution ${id} not found`,
        fix: `check ${at}.distributionId: the ID of an existing distribution of this account`,
      };
    }
    return {
      check: 'cloudfront',
      ok: false,
      detail: `CloudFront distribution ${id} cannot be read: ${describeError(error)}`,
      fix: 'allow cloudfront:GetDistributionConfig on it (see `certkeeper iam-policy`)',
    };
  }
}
