import type { AssumedRole, AwsClients } from '../aws/clients.js';
import { Route53Gateway } from './route53-gateway.js';
import { TokenBucket } from '../util/adaptive-token-bucket.js';

/**
 * One Route 53 gateway per set of credentials (default, or each role), and one token bucket per AWS
 * account: Route 53's 5 requests/s limit is per account, so two roles into one account share a bucket.
 * A role's account is read from its ARN; the default credentials share one bucket of their own (asking
 * STS whose they are would cost a call and only matters if a role points back into that account).
 */
export class Route53Accounts {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly gateways = new Map<string, Route53Gateway>();

  constructor(
    private readonly aws: AwsClients,
    private readonly requestsPerSecond: number,
  ) {}

  gateway(role?: AssumedRole): Route53Gateway {
    const key = role ? `${role.roleArn}|${role.externalId ?? ''}` : 'default';
    let gateway = this.gateways.get(key);
    if (!gateway) {
      const account = role ? accountOfRole(role.roleArn) : 'default';
      let bucket = this.buckets.get(account);
      if (!bucket) this.buckets.set(account, (bucket = new TokenBucket(this.requestsPerSecond)));
      gateway = new Route53Gateway(this.aws.route53For(role), bucket);
      this.gateways.set(key, gateway);
    }
    return gateway;
  }
}

/** `arn:aws:iam::123456789012:role/name` → `123456789012`. */
export function accountOfRole(roleArn: string): string {
  return /^arn:[^:]+:iam::(\d{12}):/.exec(roleArn)?.[1] ?? roleArn;
}
