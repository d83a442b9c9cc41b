import type { Route53Client, ServiceInputTypes, ServiceOutputTypes } from '@aws-sdk/client-route-53';
import { sleep } from '../util/sleep.js';
import { checkRoute53Answers } from './route53-answer-check.js';
import type { TokenBucket } from '../util/adaptive-token-bucket.js';
import { isThrottling } from '../aws/request-pacing.js';

/** Errors Route 53 answers when it wants the caller to slow down: retried, never surfaced while attempts last. */
const RETRYABLE = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'RequestLimitExceeded', 'ServiceUnavailable', 'InternalFailure']);
// Refusals that are not throttling (5xx, no answer) are tried this many times.
const MAX_ATTEMPTS = 10;
// Throttling is retried for this long (the bucket paces the retries, so their count says nothing).
const THROTTLED_RETRY_MS = 60_000;
const BASE_DELAY_MS = 200;
const MAX_DELAY_MS = 10_000;

export interface SendOptions {
  /**
   * Retry refusals (throttling, a prior change in progress, 5xx) for as long as this signal has not
   * aborted, however many attempts that takes: the renewals waiting on a change bound its retries by
   * their deadlines, not by a count. Without it, throttling for THROTTLED_RETRY_MS and other refusals MAX_ATTEMPTS times.
   */
  retryUntil?: AbortSignal;
  /** Told of every refusal that will be retried (the batcher: its zone is being refused right now). */
  onRefused?: (error: unknown) => void;
}

/**
 * Every Route 53 call of one AWS account goes through here: one token of the account's bucket per
 * request (retries included), the bucket told of every throttle and every answer (it adapts: see
 * util/adaptive-token-bucket.ts), and refusals retried with exponential backoff and full jitter (a throttled retry goes
 * as soon as the account is answered again, paced by the bucket). The SDK's own retries
 * are off for these clients (maxAttempts 1), so no request bypasses the bucket. An answer that is not
 * Route 53's XML (a proxy's HTML 502) becomes one clear error, retried like a 5xx (route53-answer-check.ts).
 */
export class Route53Gateway {
  constructor(
    readonly client: Route53Client,
    readonly bucket: TokenBucket,
  ) {
    checkRoute53Answers(client);
  }

  /** `command` is any Route 53 command; name its output type: `send<GetChangeCommandOutput>(new GetChangeCommand(…))`. */
  async send<Output extends ServiceOutputTypes>(command: object, signal?: AbortSignal, options: SendOptions = {}): Promise<Output> {
    const { retryUntil } = options;
    const started = Date.now();
    let failures = 0;
    for (let attempt = 1; ; attempt++) {
      await this.bucket.take(signal);
      try {
        const answer = await this.client.send<ServiceInputTypes, Output>(command as never, { abortSignal: signal });
        this.bucket.succeeded();
        return answer;
      } catch (error) {
        const throttled = slowDown(error);
        if (throttled) this.bucket.throttled();
        else failures++;
        const attemptsLeft = retryUntil ? !retryUntil.aborted : throttled ? Date.now() - started < THROTTLED_RETRY_MS : failures < MAX_ATTEMPTS;
        if (!isRetryable(error) || !attemptsLeft || signal?.aborted) throw error;
        options.onRefused?.(error);
        const waits = [signal, retryUntil].filter((entry): entry is AbortSignal => entry !== undefined);
        try {
          await this.backoff(backoffMs(attempt), throttled, waits.length ? AbortSignal.any(waits) : undefined);
        } catch (stopped) {
          if (signal?.aborted) throw stopped;
          // The renewals stopped waiting during the backoff: the last refusal is what they get.
          throw error;
        }
      }
    }
  }

  /** Waits out a refusal: `ms`; for throttling, until Route 53 answers the account again if that comes first. Rejects when `stop` aborts. */
  private backoff(ms: number, throttled: boolean, stop?: AbortSignal): Promise<void> {
    return throttled ? this.bucket.afterRefusal(ms, stop) : sleep(ms, stop);
  }
}

/** Full jitter (AWS architecture blog): random in [0, min(cap, base·2^attempt)], at least 50 ms. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.max(50, Math.round(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** Math.min(attempt, 16))));
}

/** Route 53 refused the request for a reason that passes: throttling, a prior change, a 5xx, no answer. */
export function isRetryable(error: unknown): boolean {
  const { name, $metadata, $retryable } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (name && RETRYABLE.has(name)) return true;
  if ($retryable) return true;
  const status = $metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  // No answer at all (connection reset): worth another try.
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes((error as { code?: string })?.code ?? '');
}

/** Throttling as every paced AWS API says it, or a change of the zone still in progress (Route 53's own). */
function slowDown(error: unknown): boolean {
  return isThrottling(error) || (error as { name?: string } | undefined)?.name === 'PriorRequestNotComplete';
}
