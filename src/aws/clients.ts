import { ACMClient } from '@aws-sdk/client-acm';
import type { CloudFrontClient } from '@aws-sdk/client-cloudfront';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { IAMClient } from '@aws-sdk/client-iam';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import type { STSClient } from '@aws-sdk/client-sts';
import { countAwsRequests } from '../telemetry/aws-request-metrics.js';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import { RequestPacing } from './request-pacing.js';
import type { PacedService } from '../config/aws-api-rates.js';

/** A role to assume for Route 53 (a zone in another account). */
export interface AssumedRole {
  roleArn: string;
  externalId?: string;
}

/**
 * How long every AWS client of certkeeper waits for an answer (`aws.requestTimeoutSeconds`). The SDK
 * waits forever by default: one API that hangs would hang the whole pass.
 */
export function awsRequestHandler(requestTimeoutSeconds = 60): { requestTimeout: number; connectionTimeout: number; throwOnRequestTimeout: boolean } {
  return { requestTimeout: requestTimeoutSeconds * 1000, connectionTimeout: Math.min(requestTimeoutSeconds, 10) * 1000, throwOnRequestTimeout: true };
}

/*
 * The clients made once, where they are used (a store, a secret, a topic), are in files of their own beside
 * this one (dynamodb-client.ts, secrets-manager-client.ts, ssm-client.ts, sns-client.ts), so that a service
 * that is not configured loads no code: each with the request timeout and counted like the shared ones below.
 * Every AWS client certkeeper makes is made in src/aws/.
 */

/**
 * One client per service and region, shared by the whole process. Credentials and endpoints come from
 * the standard AWS chain (env, profile, role), so `AWS_ENDPOINT_URL` points certkeeper at moto or LocalStack.
 * Every client is wrapped in `countAwsRequests` (Prometheus counter of calls by operation and outcome).
 */
export class AwsClients {
  private readonly acmClients = new Map<string, ACMClient>();
  private readonly elbClients = new Map<string, ElasticLoadBalancingV2Client>();
  private readonly taggingClients = new Map<string, ResourceGroupsTaggingAPIClient>();
  private readonly route53Clients = new Map<string, Route53Client>();
  private cloudfrontClient?: CloudFrontClient;
  private iamClient?: IAMClient;
  private stsClient?: STSClient;

  private readonly requestHandler: ReturnType<typeof awsRequestHandler>;
  /** The account's request rates for ACM, ELBv2, tagging and CloudFront (request-pacing.ts), shared by their clients. */
  private readonly pacing: RequestPacing;

  constructor(
    private readonly defaultRegion: string,
    requestTimeoutSeconds = 60,
    /** `aws.requestRates`: raised quotas. */
    requestRates?: Readonly<Record<string, number>>,
  ) {
    this.requestHandler = awsRequestHandler(requestTimeoutSeconds);
    this.pacing = new RequestPacing({ rates: requestRates });
  }

  /**
   * One Route 53 client per role (or the default credentials). Retries are certkeeper's own
   * (src/dns/route53-gateway.ts: per-account token bucket, backoff with jitter), so the SDK makes one
   * attempt. A role's credentials come from STS AssumeRole, cached and refreshed before they expire.
   */
  route53For(role?: AssumedRole): Route53Client {
    const key = role ? `${role.roleArn}|${role.externalId ?? ''}` : '';
    let client = this.route53Clients.get(key);
    if (!client) {
      const credentials = role
        ? fromTemporaryCredentials({
            params: { RoleArn: role.roleArn, ExternalId: role.externalId, RoleSessionName: 'certkeeper-dns', DurationSeconds: 3600 },
            clientConfig: { region: this.defaultRegion, requestHandler: this.requestHandler },
          })
        : undefined;
      client = countAwsRequests(new Route53Client({ region: this.defaultRegion, maxAttempts: 1, requestHandler: this.requestHandler, ...(credentials && { credentials }) }));
      this.route53Clients.set(key, client);
    }
    return client;
  }

  acm(region: string): ACMClient {
    let client = this.acmClients.get(region);
    if (!client) this.acmClients.set(region, (client = this.paced('acm', region, new ACMClient({ region, maxAttempts: 5, requestHandler: this.requestHandler }))));
    return client;
  }

  elbv2(region: string): ElasticLoadBalancingV2Client {
    let client = this.elbClients.get(region);
    if (!client)
      this.elbClients.set(region, (client = this.paced('elbv2', region, new ElasticLoadBalancingV2Client({ region, maxAttempts: 5, requestHandler: this.requestHandler }))));
    return client;
  }

  /** The Resource Groups Tagging API: finds certkeeper's certificates by tag, 100 per call. */
  tagging(region: string): ResourceGroupsTaggingAPIClient {
    let client = this.taggingClients.get(region);
    if (!client)
      this.taggingClients.set(
        region,
        (client = this.paced('tagging', region, new ResourceGroupsTaggingAPIClient({ region, maxAttempts: 5, requestHandler: this.requestHandler }))),
      );
    return client;
  }

  /**
   * CloudFront is global; its API lives in us-east-1. Its SDK (15 MB of RSS) is imported on first use,
   * that is only for a certificate with a `cloudfront` entry.
   */
  async cloudfront(): Promise<CloudFrontClient> {
    const { CloudFrontClient } = await import('@aws-sdk/client-cloudfront');
    return (this.cloudfrontClient ??= this.paced('cloudfront', 'us-east-1', new CloudFrontClient({ region: 'us-east-1', maxAttempts: 5, requestHandler: this.requestHandler })));
  }

  /**
   * IAM and STS, for the preflight's permission simulation only: one attempt, as its answer is advice.
   * Imported on first use (the IAM SDK is 8 MB of RSS).
   */
  async iam(): Promise<IAMClient> {
    const { IAMClient } = await import('@aws-sdk/client-iam');
    return (this.iamClient ??= countAwsRequests(new IAMClient({ region: this.defaultRegion, maxAttempts: 1, requestHandler: this.requestHandler })));
  }

  async sts(): Promise<STSClient> {
    const { STSClient } = await import('@aws-sdk/client-sts');
    return (this.stsClient ??= countAwsRequests(new STSClient({ region: this.defaultRegion, maxAttempts: 1, requestHandler: this.requestHandler })));
  }

  /** Counted (`countAwsRequests`) and paced within the account's request rates (request-pacing.ts). */
  private paced<T extends Parameters<typeof countAwsRequests>[0] & Parameters<RequestPacing['pace']>[0]>(service: PacedService, region: string, client: T): T {
    return this.pacing.pace(countAwsRequests(client), service, region);
  }

  destroy(): void {
    this.iamClient?.destroy();
    this.cloudfrontClient?.destroy();
    this.stsClient?.destroy();
    for (const client of this.route53Clients.values()) client.destroy();
    for (const client of [...this.acmClients.values(), ...this.elbClients.values(), ...this.taggingClients.values()]) client.destroy();
  }
}
