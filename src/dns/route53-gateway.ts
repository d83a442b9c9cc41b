import type { Route53Client, ServiceOutputTypes } from '@aws-sdk/client-route-53';
import { sleep } from '../util/sleep.js';
import type { TokenBucket } from './token-bucket.js';

/** Errors Route 53 answers when it wants the caller to slow down: retried, never surfaced while attempts last. */
const RETRYABLE = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'RequestLimitExceeded', 'ServiceUnavailable', 'InternalFailure']);
const MAX_ATTEMPTS = 10;
const BASE_DELAY_MS = 200;
const MAX_DELAY_MS = 10_000;

/**
 * Every Route 53 call of one AWS account goes through here: one token of the account's bucket per
 * request (retries included), and `Throttling` / `PriorRequestNotComplete` retried with exponential
 * backoff and full jitter, bounded. The SDK's own retries are off for these clients (maxAttempts 1),
 * so no request bypasses the bucket.
 */
export class Route53Gateway {
  constructor(
    readonly client: Route53Client,
    readonly bucket: TokenBucket,
  ) {}

  /** `command` is any Route 53 command; name its output type: `send<GetChangeCommandOutput>(new GetChangeCommand(…))`. */
  async send<Output extends ServiceOutputTypes>(command: object, signal?: AbortSignal): Promise<Output> {
    for (let attempt = 1; ; attempt++) {
      await this.bucket.take(signal);
      try {
        return (await this.client.send(command as never, { abortSignal: signal })) as Output;
      } catch (error) {
        if (!isRetryable(error) || attempt >= MAX_ATTEMPTS || signal?.aborted) throw error;
        await sleep(backoffMs(attempt), signal);
      }
    }
  }
}

/** Full jitter (AWS architecture blog): random in [0, min(cap, base·2^attempt)], at least 50 ms. */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  return Math.max(50, Math.round(random() * Math.min(MAX_DELAY_MS, BASE_DELAY_MS * 2 ** attempt)));
}

function isRetryable(error: unknown): boolean {
  const { name, $metadata, $retryable } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (name && RETRYABLE.has(name)) return true;
  if ($retryable) return true;
  const status = $metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  // No answer at all (connection reset): worth another try.
  return ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT'].includes((error as { code?: string })?.code ?? '');
}
