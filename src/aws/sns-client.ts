import { SNSClient } from '@aws-sdk/client-sns';
import { countAwsRequests } from '../telemetry/aws-request-metrics.js';
import { awsRequestHandler } from './clients.js';

/**
 * SNS, for notifications (loaded only with `notifications.snsTopicArn`). The notifier retries with its own
 * backoff: one SDK attempt per try keeps the count honest.
 */
export function snsClient(region: string, requestTimeoutSeconds?: number): SNSClient {
  return countAwsRequests(new SNSClient({ region, maxAttempts: 1, requestHandler: awsRequestHandler(requestTimeoutSeconds) }));
}
