import { SSMClient } from '@aws-sdk/client-ssm';
import { countAwsRequests } from '../telemetry/aws-request-metrics.js';
import { awsRequestHandler } from './clients.js';

/** SSM Parameter Store, for the ACME account key and the kept keys next to it (loaded only when the config puts them there). */
export function ssmClient(region: string, requestTimeoutSeconds?: number): SSMClient {
  return countAwsRequests(new SSMClient({ region, maxAttempts: 5, requestHandler: awsRequestHandler(requestTimeoutSeconds) }));
}
