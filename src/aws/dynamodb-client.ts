import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { countAwsRequests } from '../telemetry/aws-request-metrics.js';
import { awsRequestHandler } from './clients.js';

/** DynamoDB, for the state store (loaded only with `store.type: 'dynamodb'`). */
export function dynamoDbClient(region: string, requestTimeoutSeconds?: number): DynamoDBClient {
  return countAwsRequests(new DynamoDBClient({ region, maxAttempts: 5, requestHandler: awsRequestHandler(requestTimeoutSeconds) }));
}
