import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
  UpdateItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';
import { dynamoDbClient } from '../aws/dynamodb-client.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { sleep } from '../util/sleep.js';
import { kindOfKey, describeParseError, shapeProblem } from './document-shapes.js';
import type { Holder, Lease, LeaseView, StateStore, StoreKey } from './state-store.js';
import { DEFAULT_LEASE_MS, newHolder } from './state-store.js';

export interface DynamoDbStoreOptions {
  tableName: string;
  region: string;
  /** How long a lease lasts without renewal: a crashed holder blocks its certificate this long. */
  leaseMs?: number;
  /** How often a held lease is extended; a few renewals fit in one lease, so one slow call loses nothing. */
  renewEveryMs?: number;
  /** aws.requestTimeoutSeconds: a lease renewal must not wait on a hung call past the lease. */
  requestTimeoutSeconds?: number;
  /** Where damaged documents are reported (`store.file.corrupt`). */
  log?: AuditLogger;
}

const MAX_UPDATE_ATTEMPTS = 20;

/**
 * Shared state in one DynamoDB table for several agents (or a scheduled task without a disk).
 * Partition key `pk` (string), no sort key. Documents are items { pk, doc (JSON), version }; every
 * change is a conditional write on `version`, retried when another agent wrote in between. Leases are
 * items { pk: `lease#NAME`, holder, pid, host, bootId, startTime, since, heartbeatAt, expiresAt (epoch ms),
 * ttl (epoch s, for DynamoDB's TTL) } taken with a conditional put: free, expired, or already ours.
 * A `doc` that is not JSON or not of its kind's shape reads as absent (logged once per item version);
 * the item is left as it is for inspection until the next write of that key overwrites it.
 */
export class DynamoDbStore implements StateStore {
  readonly type = 'dynamodb';
  readonly holder = newHolder();
  readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly leaseMs: number;
  private readonly renewEveryMs: number;
  private readonly log?: AuditLogger;
  /** Damaged items already reported (key@version): reported once, not on every read until they are overwritten. */
  private readonly reported = new Set<string>();

  constructor(options: DynamoDbStoreOptions) {
    this.log = options.log;
    this.table = options.tableName;
    this.client = dynamoDbClient(options.region, options.requestTimeoutSeconds);
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.renewEveryMs = options.renewEveryMs ?? Math.floor(this.leaseMs / 3);
  }

  async get<T>(key: StoreKey): Promise<T | undefined> {
    return (await this.read<T>(key))?.value;
  }

  async put<T>(key: StoreKey, value: T): Promise<void> {
    // The version still moves on, so a concurrent update() of the same item notices and applies its change again.
    await this.guard(
      `put ${key}`,
      this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: { S: key } },
          UpdateExpression: 'SET #doc = :doc, #updatedAt = :now ADD #version :one',
          ExpressionAttributeNames: { '#doc': 'doc', '#version': 'version', '#updatedAt': 'updatedAt' },
          ExpressionAttributeValues: { ':doc': { S: JSON.stringify(value) }, ':now': { S: new Date().toISOString() }, ':one': { N: '1' } },
        }),
      ),
    );
  }

  async update<T>(key: StoreKey, change: (current: T | undefined) => T): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const current = await this.read<T>(key);
      const next = change(current?.value);
      try {
        await this.guard(
          `update ${key}`,
          this.client.send(
            new UpdateItemCommand({
              TableName: this.table,
              Key: { pk: { S: key } },
              UpdateExpression: 'SET #doc = :doc, #version = :next, #updatedAt = :now',
              ConditionExpression: current ? '#version = :version' : 'attribute_not_exists(pk)',
              ExpressionAttributeNames: { '#doc': 'doc', '#version': 'version', '#updatedAt': 'updatedAt' },
              ExpressionAttributeValues: {
                ':doc': { S: JSON.stringify(next) },
                ':next': { N: String((current?.version ?? 0) + 1) },
                ':now': { S: new Date().toISOString() },
                ...(current && { ':version': { N: String(current.version) } }),
              },
            }),
          ),
        );
        return next;
      } catch (error) {
        // Another agent changed it since we read it: apply the change again to what it wrote, after a
        // random pause that grows, so writers contending for one item (the rate-limit ledger) spread out.
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        if (attempt >= MAX_UPDATE_ATTEMPTS) throw new Error(`DynamoDB table ${this.table}: ${key} kept changing under ${attempt} attempts to update it`, { cause: error });
        await sleep(Math.random() * Math.min(1_000, 10 * 2 ** attempt));
      }
    }
  }

  async delete(key: StoreKey): Promise<void> {
    await this.guard(`delete ${key}`, this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: { S: key } } })));
  }

  async list<T>(prefix: 'journal#' | 'facts#'): Promise<{ key: StoreKey; value: T }[]> {
    const found: { key: StoreKey; value: T }[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.guard(
        `scan ${prefix}`,
        this.client.send(
          new ScanCommand({
            TableName: this.table,
            ConsistentRead: true,
            FilterExpression: 'begins_with(pk, :prefix)',
            ExpressionAttributeValues: { ':prefix': { S: prefix } },
            ExclusiveStartKey: start,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const value = this.documentOf<T>(item);
        if (value !== undefined) found.push({ key: item.pk!.S as StoreKey, value });
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return found;
  }

  async tryLease(certificate: string, log: AuditLogger): Promise<Lease | undefined> {
    const now = Date.now();
    let previous: Record<string, AttributeValue> | undefined;
    try {
      const answer = await this.guard(
        `lease ${certificate}`,
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: this.leaseItem(certificate, now, now),
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR holder = :me',
            ExpressionAttributeValues: { ':now': { N: String(now) }, ':me': { S: this.holder.id } },
            ReturnValues: 'ALL_OLD',
          }),
        ),
      );
      previous = answer.Attributes;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
    if (previous?.holder?.S && previous.holder.S !== this.holder.id) {
      log.warn('store.lease.taken_over', {
        store: 'dynamodb',
        table: this.table,
        lease: `lease#${certificate}`,
        previousHolder: previous.holder.S,
        previousHost: previous.host?.S ?? null,
        previousPid: previous.pid?.N ? Number(previous.pid.N) : null,
        previousSince: previous.since?.N ? new Date(Number(previous.since.N)).toISOString() : null,
        previousExpiresAt: new Date(Number(previous.expiresAt?.N)).toISOString(),
        holder: this.holder.id,
        why: 'heartbeat expired: its holder stopped renewing it (crashed or cut off)',
      });
    }
    return this.keepRenewed(certificate, now, log);
  }

  async readLease(certificate: string): Promise<LeaseView | undefined> {
    const item = (
      await this.guard(
        `read lease ${certificate}`,
        this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: `lease#${certificate}` } }, ConsistentRead: true })),
      )
    ).Item;
    if (!item?.holder?.S) return undefined;
    const expiresAt = Number(item.expiresAt?.N);
    const heartbeatAt = item.heartbeatAt?.N ? Number(item.heartbeatAt.N) : undefined;
    const live = expiresAt >= Date.now();
    const until = Number.isNaN(expiresAt) ? 'unknown' : new Date(expiresAt).toISOString();
    return {
      holder: {
        id: item.holder.S,
        pid: Number(item.pid?.N ?? 0),
        host: item.host?.S ?? '',
        ...(item.bootId?.S && { bootId: item.bootId.S }),
        ...(item.startTime?.S && { startTime: item.startTime.S }),
      },
      // Leases written before `since` was kept: their last renewal is all that is known.
      since: new Date(Number(item.since?.N ?? heartbeatAt ?? expiresAt - this.leaseMs)).toISOString(),
      heartbeatAt: heartbeatAt !== undefined ? new Date(heartbeatAt).toISOString() : null,
      expiresAt: until,
      live,
      // Agents on other hosts cannot check each other's processes: a lease counts while it is renewed.
      why: live ? `renewed by its holder, valid until ${until}` : `heartbeat expired: not renewed since ${until}`,
    };
  }

  async isAtWork(holder: Holder, certificate: string): Promise<boolean> {
    const item = (
      await this.guard(
        `read lease ${certificate}`,
        this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: `lease#${certificate}` } }, ConsistentRead: true })),
      )
    ).Item;
    return item?.holder?.S === holder.id && Number(item.expiresAt?.N) >= Date.now();
  }

  close(): void {
    this.client.destroy();
  }

  /**
   * Extends the lease every renewEveryMs until released. Its signal is aborted as soon as another agent
   * holds it, or when it was not extended in time: with less than one renewal interval left (a renewal
   * failed or hangs), the work stops before the lease expires and another agent may start.
   */
  private keepRenewed(certificate: string, takenAt: number, log: AuditLogger): Lease {
    const controller = new AbortController();
    const lease = `lease#${certificate}`;
    let heldUntil = takenAt + this.leaseMs;
    let renewing: Promise<void> | undefined;
    let lastError: string | undefined;
    const lose = (why: string) => {
      if (controller.signal.aborted) return;
      clearInterval(timer);
      log.error('store.lease.lost', { store: 'dynamodb', table: this.table, lease, holder: this.holder.id, error: why });
      controller.abort(new Error(`lost the lease on ${certificate}: ${why}`));
    };
    const renew = async () => {
      const now = Date.now();
      try {
        await this.guard(
          `renew lease ${certificate}`,
          this.client.send(
            new PutItemCommand({
              TableName: this.table,
              Item: this.leaseItem(certificate, now, takenAt),
              ConditionExpression: 'holder = :me',
              ExpressionAttributeValues: { ':me': { S: this.holder.id } },
            }),
            { abortSignal: AbortSignal.timeout(this.renewEveryMs) },
          ),
        );
        heldUntil = now + this.leaseMs;
        lastError = undefined;
      } catch (error) {
        // Another agent took it after it expired. Any other failure is tried again at the next tick, if time allows.
        if (error instanceof ConditionalCheckFailedException) lose('another agent holds it now');
        else lastError = describeError(error);
      }
    };
    const timer = setInterval(() => {
      if (Date.now() + this.renewEveryMs >= heldUntil) {
        return lose(`not extended in time (${lastError ?? 'the renewal did not answer'}); it expires at ${new Date(heldUntil).toISOString()}`);
      }
      renewing ??= renew().finally(() => (renewing = undefined));
    }, this.renewEveryMs);
    timer.unref();
    return {
      certificate,
      holder: this.holder,
      signal: controller.signal,
      release: async () => {
        clearInterval(timer);
        await renewing;
        try {
          await this.guard(
            `release lease ${certificate}`,
            this.client.send(
              new DeleteItemCommand({
                TableName: this.table,
                Key: { pk: { S: lease } },
                ConditionExpression: 'holder = :me',
                ExpressionAttributeValues: { ':me': { S: this.holder.id } },
              }),
            ),
          );
        } catch (error) {
          // Already someone else's: nothing of ours to release. Otherwise it expires by itself within leaseMs:
          // the work it guarded is done, so this is worth a warning, not a failed renewal.
          if (!(error instanceof ConditionalCheckFailedException)) {
            log.warn('store.lease.release_failed', {
              store: 'dynamodb',
              table: this.table,
              lease,
              holder: this.holder.id,
              error: describeError(error),
              expiresAt: new Date(heldUntil).toISOString(),
            });
          }
        }
      },
    };
  }

  private leaseItem(certificate: string, now: number, since: number): Record<string, AttributeValue> {
    const expiresAt = now + this.leaseMs;
    return {
      pk: { S: `lease#${certificate}` },
      holder: { S: this.holder.id },
      pid: { N: String(this.holder.pid) },
      host: { S: this.holder.host },
      ...(this.holder.bootId && { bootId: { S: this.holder.bootId } }),
      ...(this.holder.startTime && { startTime: { S: this.holder.startTime } }),
      since: { N: String(since) },
      heartbeatAt: { N: String(now) },
      expiresAt: { N: String(expiresAt) },
      // DynamoDB's TTL (when enabled on `ttl`) removes leases long gone; an hour after expiry is plenty.
      ttl: { N: String(Math.ceil(expiresAt / 1000) + 3600) },
    };
  }

  /** The item's document and version; a damaged document reads as absent but keeps its version, so the next write replaces it. */
  private async read<T>(key: StoreKey): Promise<{ value: T | undefined; version: number } | undefined> {
    const item = (await this.guard(`read ${key}`, this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: { S: key } }, ConsistentRead: true })))).Item;
    if (!item) return undefined;
    return { value: this.documentOf<T>(item), version: Number(item.version?.N ?? 0) };
  }

  private documentOf<T>(item: Record<string, AttributeValue>): T | undefined {
    const key = item.pk?.S ?? '';
    if (item.doc?.S === undefined) return undefined;
    let value: unknown;
    let problem: string | undefined;
    try {
      value = JSON.parse(item.doc.S);
      const kind = kindOfKey(key);
      problem = kind && shapeProblem(kind, value);
    } catch (error) {
      problem = describeParseError(error);
    }
    if (!problem) return value as T;
    const seen = `${key}@${item.version?.N ?? 0}`;
    if (!this.reported.has(seen)) {
      this.reported.add(seen);
      this.log?.error('store.file.corrupt', {
        store: 'dynamodb',
        file: `${this.table}/${key}`,
        movedTo: null,
        error: `${problem}; read as absent, left in the table until the next write of ${key} replaces it`,
      });
    }
    return undefined;
  }

  /** Errors name the table and what was being done; a missing table says how to create it. */
  private async guard<T>(what: string, call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      if ((error as Error).name === 'ResourceNotFoundException') {
        throw new Error(
          `store.tableName "${this.table}" does not exist (${what}): create it with partition key "pk" (string) and no sort key, e.g. ` +
            `aws dynamodb create-table --table-name ${this.table} --attribute-definitions AttributeName=pk,AttributeType=S ` +
            `--key-schema AttributeName=pk,KeyType=HASH --billing-mode PAY_PER_REQUEST`,
          { cause: error },
        );
      }
      throw new Error(`DynamoDB table ${this.table}: cannot ${what}: ${describeError(error)}`, { cause: error });
    }
  }
}
