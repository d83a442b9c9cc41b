import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { countAwsRequests } from '../telemetry/aws-request-metrics.js';
import { awsRequestHandler } from './clients.js';

/** Secrets Manager, for the ACME account key and the kept keys next to it (loaded only when the config puts them there). */
export function secretsManagerClient(region: string, requestTimeoutSeconds?: number): SecretsManagerClient {
  return countAwsRequests(new SecretsManagerClient({ region, maxAttempts: 5, requestHandler: awsRequestHandler(requestTimeoutSeconds) }));
}
