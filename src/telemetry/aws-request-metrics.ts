import { awsRequestsTotal } from './metrics.js';

/** The part of an AWS SDK v3 client this needs (every generated client has it). */
interface AwsClientLike {
  middlewareStack: { add(middleware: unknown, options: Record<string, unknown>): void };
}

interface HandlerContext {
  clientName?: string;
  commandName?: string;
}

// Error codes the SDK itself treats as throttling (plus HTTP 429): worth telling apart from real failures.
const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'BandwidthLimitExceeded',
  'RequestThrottled',
  'SlowDown',
  'PriorRequestNotComplete',
  'EC2ThrottledException',
]);

/**
 * Counts every attempt (`certkeeper_aws_requests_total{service,operation,outcome}`): added after the
 * retry middleware, so a call retried three times for throttling shows as three requests.
 */
export function countAwsRequests<T extends AwsClientLike>(client: T): T {
  client.middlewareStack.add(
    (next: (args: unknown) => Promise<unknown>, context: HandlerContext) => async (args: unknown) => {
      const labels = {
        service: (context.clientName ?? 'unknown').replace(/Client$/, ''),
        operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
      };
      try {
        const result = await next(args);
        awsRequestsTotal.inc({ ...labels, outcome: 'success' });
        return result;
      } catch (error) {
        awsRequestsTotal.inc({ ...labels, outcome: awsOutcome(error) });
        throw error;
      }
    },
    { step: 'finalizeRequest', priority: 'low', name: 'certkeeperRequestMetrics', override: true },
  );
  return client;
}

export function awsOutcome(error: unknown): 'throttled' | 'error' {
  const { name, $metadata } = (error ?? {}) as { name?: string; $metadata?: { httpStatusCode?: number } };
  return (name && THROTTLING.has(name)) || $metadata?.httpStatusCode === 429 ? 'throttled' : 'error';
}
