/**
 * The request rates AWS allows an account per region, by service and operation class: what the pacing
 * layer (aws/request-pacing.ts) spends at most. Keys are `service:class`; for ACM the class is the operation.
 * `aws.requestRates` overrides a rate for an account whose quota was raised.
 */
export interface ApiRate {
  /** Requests per second, refilled continuously. */
  ratePerSecond: number;
  /** Requests that may go at once from a full bucket. */
  burst: number;
}

/** The services certkeeper paces (the Route 53 gateway paces Route 53 itself: dns/route53-gateway.ts). */
export type PacedService = 'acm' | 'elbv2' | 'cloudfront' | 'tagging';

const rate = (ratePerSecond: number, burst = Math.max(1, Math.floor(ratePerSecond))): ApiRate => ({ ratePerSecond, burst });

export const API_RATES: Readonly<Record<string, ApiRate>> = {
  // ACM user guide, "Quotas" → "API rate quotas": requests per second per account and region.
  'acm:AddTagsToCertificate': rate(5),
  'acm:DeleteCertificate': rate(10),
  'acm:DescribeCertificate': rate(10),
  'acm:GetCertificate': rate(10),
  'acm:ImportCertificate': rate(1),
  'acm:ListCertificates': rate(8),
  'acm:ListTagsForCertificate': rate(10),
  'acm:RemoveTagsFromCertificate': rate(5),
  // ELB user guide, "Request throttling for the ELB API": Describe* share a bucket of 40 refilled at 10/s.
  'elbv2:describe': rate(10, 40),
  // The mutating actions (ModifyListener, Add/RemoveListenerCertificates) have their own bucket; its figures
  // were not in the documentation we could read, so a conservative one: a quarter of Describe*'s.
  'elbv2:mutating': rate(2.5, 10),
  // CloudFront and the tagging API document no per-operation request rate: conservative figures, which the
  // adaptive bucket lowers further if AWS says so.
  'cloudfront:read': rate(5),
  'cloudfront:mutating': rate(1),
  'tagging:GetResources': rate(5),
};

// An operation outside the table: a rate no AWS API we call documents below.
const UNKNOWN_OPERATION = rate(1);

/** The class an operation is paced in: its own name, or the bucket AWS shares between operations. */
export function operationClass(service: PacedService, operation: string): string {
  if (service === 'elbv2') return /^Describe/.test(operation) ? 'describe' : 'mutating';
  if (service === 'cloudfront') return /^(Get|List)/.test(operation) ? 'read' : 'mutating';
  return operation;
}

/**
 * The rate of `service:class`: the override when given (its burst scaled with it, at least 1), else the
 * documented one, else a cautious default.
 */
export function apiRate(key: string, overrides: Readonly<Record<string, number>> = {}): ApiRate {
  const documented = API_RATES[key] ?? UNKNOWN_OPERATION;
  const override = overrides[key];
  if (override === undefined) return documented;
  return { ratePerSecond: override, burst: Math.max(1, Math.floor((documented.burst * override) / documented.ratePerSecond)) };
}
