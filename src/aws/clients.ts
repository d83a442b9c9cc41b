import { ACMClient } from '@aws-sdk/client-acm';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';

/**
 * One client per service and region, shared by the whole process. Credentials and endpoints come from
 * the standard AWS chain (env, profile, role), so `AWS_ENDPOINT_URL` points certkeeper at moto or LocalStack.
 */
export class AwsClients {
  private readonly acmClients = new Map<string, ACMClient>();
  private readonly elbClients = new Map<string, ElasticLoadBalancingV2Client>();
  readonly route53: Route53Client;

  /** The SDK waits for an answer forever by default: a load balancer API that hangs would hang the whole pass. */
  private readonly requestHandler: { requestTimeout: number; connectionTimeout: number; throwOnRequestTimeout: boolean };

  constructor(defaultRegion: string, requestTimeoutSeconds = 60) {
    this.requestHandler = { requestTimeout: requestTimeoutSeconds * 1000, connectionTimeout: Math.min(requestTimeoutSeconds, 10) * 1000, throwOnRequestTimeout: true };
    // Route 53 allows 5 requests/s per account: the SDK's default 3 attempts run out in bursts.
    this.route53 = new Route53Client({ region: defaultRegion, maxAttempts: 10, retryMode: 'adaptive', requestHandler: this.requestHandler });
  }

  acm(region: string): ACMClient {
    let client = this.acmClients.get(region);
    if (!client) this.acmClients.set(region, (client = new ACMClient({ region, maxAttempts: 5, requestHandler: this.requestHandler })));
    return client;
  }

  elbv2(region: string): ElasticLoadBalancingV2Client {
    let client = this.elbClients.get(region);
    if (!client) this.elbClients.set(region, (client = new ElasticLoadBalancingV2Client({ region, maxAttempts: 5, requestHandler: this.requestHandler })));
    return client;
  }

  destroy(): void {
    this.route53.destroy();
    for (const client of [...this.acmClients.values(), ...this.elbClients.values()]) client.destroy();
  }
}
