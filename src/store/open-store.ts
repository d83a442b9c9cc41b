import type { ResolvedConfig } from '../config/schema.js';
import { DynamoDbStore } from './dynamodb-store.js';
import { FileStateStore } from './file-state-store.js';
import type { StateStore } from './state-store.js';

/** The store the config asks for: stateDir files by default, or the shared DynamoDB table. */
export function openStore(config: ResolvedConfig): StateStore {
  const store = config.store;
  if (store.type === 'dynamodb') return new DynamoDbStore({ tableName: store.tableName, region: store.region ?? config.aws.region, requestTimeoutSeconds: config.aws.requestTimeoutSeconds });
  return new FileStateStore(config.stateDir);
}
