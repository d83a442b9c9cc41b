import { randomUUID } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import {
  CloudFrontClient,
  CreateDistributionCommand,
  GetDistributionConfigCommand,
  ListDistributionsCommand,
  UpdateDistributionCommand,
  type ViewerCertificate,
} from '@aws-sdk/client-cloudfront';
import type { AcmKeyVault } from './load-balancer-double.js';
import { selfSignedCertificate } from './tls.js';
import { listenOnLoopback } from './ports.js';

/**
 * CloudFront in moto stores distributions and their viewer certificate but serves nothing. These
 * helpers make a distribution in moto, change its viewer certificate by hand, and stand in for its
 * edge: a loopback TLS server that serves, on every handshake, the ACM certificate the distribution
 * names now (with the key the ACM key vault kept).
 */
export function cloudFrontClient(endpoint: string): CloudFrontClient {
  return new CloudFrontClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
}

/** A distribution with one custom origin and CloudFront's default certificate, as a new distribution has. */
export async function createDistribution(client: CloudFrontClient, origin: string): Promise<string> {
  const answer = await client.send(
    new CreateDistributionCommand({
      DistributionConfig: {
        CallerReference: randomUUID(),
        Comment: 'certkeeper test',
        Enabled: true,
        Origins: { Quantity: 1, Items: [{ Id: 'origin', DomainName: origin, CustomOriginConfig: { HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: 'https-only' } }] },
        DefaultCacheBehavior: { TargetOriginId: 'origin', ViewerProtocolPolicy: 'redirect-to-https', CachePolicyId: '658327ea-f89d-4fab-a63d-7e88639e58f6' },
      },
    }),
  );
  return answer.Distribution!.Id!;
}

export async function viewerCertificateOf(client: CloudFrontClient, id: string): Promise<ViewerCertificate | undefined> {
  return (await client.send(new GetDistributionConfigCommand({ Id: id }))).DistributionConfig?.ViewerCertificate;
}

/** Changes the viewer certificate as a person would in the console (the config's ETag, IfMatch). */
export async function setViewerCertificate(client: CloudFrontClient, id: string, viewer: ViewerCertificate): Promise<void> {
  const current = await client.send(new GetDistributionConfigCommand({ Id: id }));
  await client.send(new UpdateDistributionCommand({ Id: id, IfMatch: current.ETag, DistributionConfig: { ...current.DistributionConfig!, ViewerCertificate: viewer } }));
}

/** Distributions (real ARN form) whose viewer certificate is `certificateArn`: what real ACM adds to InUseBy. */
export async function distributionsUsing(client: CloudFrontClient, certificateArn: string, account = '123456789012'): Promise<string[]> {
  const users: string[] = [];
  for (const summary of (await client.send(new ListDistributionsCommand({}))).DistributionList?.Items ?? []) {
    const viewer = await viewerCertificateOf(client, summary.Id!);
    if (viewer?.ACMCertificateArn === certificateArn) users.push(`arn:aws:cloudfront::${account}:distribution/${summary.Id}`);
  }
  return users;
}

export interface ServingDistribution {
  port: number;
  stop(): Promise<void>;
}

/** Serves, on every handshake, the ACM certificate the distribution currently names (the fallback when none). */
export async function startServingDistribution(client: CloudFrontClient, id: string, vault: AcmKeyVault): Promise<ServingDistribution> {
  const fallback = await selfSignedCertificate('cloudfront-default.invalid');
  const server = createHttpsServer({
    cert: fallback.certificatePem,
    key: fallback.privateKeyPem,
    SNICallback: (_servername, done) => {
      viewerCertificateOf(client, id).then(
        (viewer) => {
          const material = vault.material(viewer?.ACMCertificateArn ?? '');
          done(null, material ? createSecureContext({ cert: material.certificatePem, key: material.privateKeyPem }) : undefined);
        },
        (error: Error) => done(error),
      );
    },
  });
  return listenOnLoopback(server);
}
