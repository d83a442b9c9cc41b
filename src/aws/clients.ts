import { ACMClient } from '@aws-sdk/client-acm';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ResourceGroupsTaggingAPIClient } from '@aws-sdk/client-resource-groups-tagging-api';
import { Route53Client } from '@aws-sdk/client-route-53';
import { countAwsRequests } from '../telemetry/aws-request-metrics.js';

/**
 * One client per service and region, shared by the whole process. Credentials and endpoints come from
 * the standard AWS chain (env, profile, role), so `AWS_ENDPOINT_URL` points certkeeper at moto or LocalStack.
 * Every client is wrapped in `countAwsRequests` (Prometheus counter of calls by operation and outcome).
 */
export class AwsClients {
  private readonly acmClients = new Map<string, ACMClient>();
  private readonly elbClients = new Map<string, ElasticLoadBalancingV2Client>();
  private readonly taggingClients = new Map<string, ResourceGroupsTaggingAPIClient>();
  readonly route53: Route53Client;

  constructor(defaultRegion: string) {
    // Route 53 allows 5 requests/s per account: the SDK's default 3 attempts run out in bursts.
    this.route53 = countAwsRequests(new Route53Client({ region: defaultRegion, maxAttempts: 10, retryMode: 'adaptive' }));
  }

  acm(region: string): ACMClient {
    let client = this.acmClients.get(region);
    if (!client) this.acmClients.set(region, (client = countAwsRequests(new ACMClient({ region, maxAttempts: 5 }))));
    return client;
  }

  elbv2(region: string): ElasticLoadBalancingV2Client {
    let client = this.elbClients.get(region);
    if (!client) this.elbClients.set(region, (client = countAwsRequests(new ElasticLoadBalancingV2Client({ region, maxAttempts: 5 }))));
    return client;
  }

  /** The Resource Groups Tagging API: finds certkeeper's certificates by tag, 100 per call. */
  tagging(region: string): ResourceGroupsTaggingAPIClient {
    let client = this.taggingClients.get(region);
    if (!client) this.taggingClients.set(region, (client = countAwsRequests(new ResourceGroupsTaggingAPIClient({ region, maxAttempts: 5 }))));
    return client;
  }

  destroy(): void {
    this.route53.destroy();
    for (const client of [...this.acmClients.values(), ...this.elbClients.values(), ...this.taggingClients.values()]) client.destroy();
  }
}
