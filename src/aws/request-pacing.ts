import { TokenBucket } from '../util/adaptive-token-bucket.js';
import { apiRate, operationClass, type PacedService } from '../config/aws-api-rates.js';

// A throttled request is retried inside the pacing layer for this long (time, not a count), as Route 53's
// gateway does: throttling that ends within a minute costs time, never the certificate.
export const THROTTLED_RETRY_MS = 60_000;
// Between throttled attempts: exponential with full jitter up to this, cut short when the account is
// answered again (the bucket then paces the retries).
const MAX_BACKOFF_MS = 5_000;
const FIRST_BACKOFF_MS = 100;

// The answers by which AWS says "too many requests" (the ELB, ACM and CloudFront codes, EC2's, and HTTP 429).
const THROTTLING = new Set(['ThrottlingException', 'Throttling', 'TooManyRequestsException', 'RequestLimitExceeded']);

export function isThrottling(error: unknown): boolean {
  const { name, $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (name !== undefined && THROTTLING.has(name)) || $metadata?.httpStatusCode === 429;
}

/** An error that is an answer of AWS (it has an HTTP status), not a failure to reach it. */
function isAnswer(error: unknown): boolean {
  return typeof (error as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode === 'number';
}

/** The part of an AWS SDK v3 client this needs (every generated client has it). */
interface AwsClientLike {
  middlewareStack: { addRelativeTo(middleware: never, options: { relation: 'before' | 'after'; toMiddleware: string; name?: string; override?: boolean }): void };
}

interface HandlerContext {
  commandName?: string;
}

export interface RequestPacingOptions {
  /** `aws.requestRates`: `service:class` → requests per second, for accounts with raised quotas. */
  rates?: Readonly<Record<string, number>>;
  now?: () => number;
  /** How long a throttled request is retried (tests shorten it). */
  throttledRetryMs?: number;
}

/**
 * Paces the AWS calls of one process within the account's documented request rates (config/aws-api-rates.ts):
 * one adaptive token bucket per (service, region, operation class), shared by every client of that
 * service and region. Every attempt takes a token; a throttling answer slows the bucket (halved, then
 * cubic recovery) and is retried here for up to THROTTLED_RETRY_MS, going again as soon as the account is
 * answered; it reaches the caller only when that time has passed. Other errors go back to the SDK, which
 * retries them as it always has.
 */
export class RequestPacing {
  private readonly buckets = new Map<string, TokenBucket>();
  // When each SDK call (its handler context) was first throttled: the minute spans the SDK's attempts.
  private readonly throttledSince = new WeakMap<object, number>();
  private readonly now: () => number;
  private readonly throttledRetryMs: number;

  constructor(private readonly options: RequestPacingOptions = {}) {
    this.now = options.now ?? Date.now;
    this.throttledRetryMs = options.throttledRetryMs ?? THROTTLED_RETRY_MS;
  }

  /** The bucket of `service:class` in `region`, made at its first use. */
  bucket(service: PacedService, region: string, klass: string): TokenBucket {
    const key = `${service}:${klass}`;
    const id = `${key}@${region}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      const { ratePerSecond, burst } = apiRate(key, this.options.rates);
      this.buckets.set(id, (bucket = new TokenBucket(ratePerSecond, burst, this.now)));
    }
    return bucket;
  }

  /** Adds the pacing middleware to `client`: per attempt (after the SDK's retries), before signing, so a retry here is signed afresh. */
  pace<T extends AwsClientLike>(client: T, service: PacedService, region: string): T {
    client.middlewareStack.addRelativeTo(
      ((next: (args: unknown) => Promise<unknown>, context: HandlerContext) => (args: unknown) =>
        this.send(this.bucket(service, region, operationClass(service, (context.commandName ?? 'unknown').replace(/Command$/, ''))), () => next(args), context)) as never,
      { relation: 'before', toMiddleware: 'httpSigningMiddleware', name: 'certkeeperRequestPacing', override: true },
    );
    return client;
  }

  /** One attempt of a call through `bucket`: throttling retried here (see the class). `call` keys the minute across the SDK's attempts. */
  async send<R>(bucket: TokenBucket, attempt: () => Promise<R>, call: object = {}): Promise<R> {
    for (let retry = 0; ; retry++) {
      await bucket.take();
      try {
        const result = await attempt();
        bucket.succeeded();
        return result;
      } catch (error) {
        if (!isThrottling(error)) {
          if (isAnswer(error)) bucket.succeeded();
          throw error;
        }
        bucket.throttled();
        const since = this.throttledSince.get(call) ?? this.now();
        this.throttledSince.set(call, since);
        if (this.now() - since >= this.throttledRetryMs) throw error;
        await this.backoff(bucket, retry);
      }
    }
  }

  /** Waits out a throttle: a jittered backoff, or until the account is answered again if that comes first. */
  private backoff(bucket: TokenBucket, retry: number): Promise<void> {
    return bucket.afterRefusal(Math.random() * Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** retry));
  }
}
