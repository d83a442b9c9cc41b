import type { ResolvedConfig } from '../config/schema.js';
import type { AuditLogger } from '../telemetry/logger.js';
import { FileStateStore } from './file-state-store.js';
import { reportDamagedFilesTo } from './file-store.js';
import type { StateStore } from './state-store.js';

/**
 * The store the config asks for: stateDir files by default, or the shared DynamoDB table. `log` hears of
 * damaged documents (`store.file.corrupt`), also of files in stateDir read outside the store (the ACME
 * account file when the store is DynamoDB). DynamoDB's store (and its SDK) is imported only when configured.
 */
export async function openStore(config: ResolvedConfig, log?: AuditLogger): Promise<StateStore> {
  const store = config.store;
  if (log) reportDamagedFilesTo(config.stateDir, log);
  if (store.type === 'dynamodb') {
    const { DynamoDbStore } = await import('./dynamodb-store.js');
    return new DynamoDbStore({ tableName: store.tableName, region: store.region ?? config.aws.region, requestTimeoutSeconds: config.aws.requestTimeoutSeconds, log });
  }
  return new FileStateStore(config.stateDir, { log });
}
