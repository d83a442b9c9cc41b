import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { FileLocks } from './file-lock.js';
import { FileStore, reportDamagedFilesTo } from './file-store.js';
import { DEFAULT_LEASE_MS, newHolder, type Holder, type Lease, type LeaseView, type StateStore, type StoreKey } from './state-store.js';

export interface FileStateStoreOptions {
  /** Where damaged files are reported (`store.file.corrupt`). */
  log?: AuditLogger;
  leaseMs?: number;
  heartbeatEveryMs?: number;
}

/**
 * The default store: JSON files in stateDir (0700, files 0600, atomic and durable writes; a damaged file
 * is moved aside and read as absent), laid out as before the store interface existed, so an existing
 * stateDir keeps working. The lease is a lock file that proves its holder (host, boot, process and its
 * start time) and carries a heartbeat, like the DynamoDB lease (see file-lock.ts). Shared by processes
 * on one machine, or by hosts sharing the directory (judged by heartbeat alone across hosts).
 */
export class FileStateStore implements StateStore {
  readonly type = 'file';
  readonly holder = newHolder();
  readonly files: FileStore;
  private readonly locks: FileLocks;
  private readonly log?: AuditLogger;
  /** The last write of each key still in flight (see inTurn). */
  private readonly writing = new Map<StoreKey, Promise<void>>();

  constructor(dir: string, options: FileStateStoreOptions = {}) {
    this.files = new FileStore(dir);
    this.log = options.log;
    if (options.log) reportDamagedFilesTo(dir, options.log);
    const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.locks = new FileLocks(this.files, this.holder, { leaseMs, heartbeatEveryMs: options.heartbeatEveryMs ?? Math.floor(leaseMs / 3) });
  }

  async get<T>(key: StoreKey): Promise<T | undefined> {
    await this.writing.get(key);
    return this.files.read<T>(pathOf(key));
  }

  async put<T>(key: StoreKey, value: T): Promise<void> {
    // The ACM facts cache is rebuilt from AWS when lost: atomic, not durable (see certificate-facts-cache.ts).
    if (key.startsWith('facts#')) return this.files.write(pathOf(key), value, { durable: false });
    await this.inTurn(key, () => this.files.writeAsync(pathOf(key), value));
  }

  async update<T>(key: StoreKey, change: (current: T | undefined) => T): Promise<T> {
    return this.inTurn(key, async () => {
      const next = change(this.files.read<T>(pathOf(key)));
      await this.files.writeAsync(pathOf(key), next);
      return next;
    });
  }

  /**
   * Writes are durable but off the main thread (a cold status writes a record per certificate): one at a
   * time per key, so an update reads what the previous one wrote, and a get waits for a write in flight.
   */
  private inTurn<R>(key: StoreKey, work: () => Promise<R>): Promise<R> {
    const turn = (this.writing.get(key) ?? Promise.resolve()).then(work);
    const settled = turn.then(
      () => undefined,
      () => undefined,
    );
    this.writing.set(key, settled);
    void settled.then(() => {
      if (this.writing.get(key) === settled) this.writing.delete(key);
    });
    return turn;
  }

  async delete(key: StoreKey): Promise<void> {
    this.files.remove(pathOf(key));
  }

  async list<T>(prefix: 'journal#' | 'facts#'): Promise<{ key: StoreKey; value: T }[]> {
    // Facts are read file by file (see certificate-facts-cache.ts): only the journal is listed.
    if (prefix !== 'journal#') throw new Error(`cannot list ${prefix}`);
    let files: string[];
    try {
      files = readdirSync(join(this.files.dir, 'challenges')).filter((file) => file.endsWith('.json'));
    } catch {
      return [];
    }
    return files.flatMap((file) => {
      let value: T | undefined;
      try {
        value = this.files.read<T>(`challenges/${file}`);
      } catch (error) {
        // Unreadable and could not be moved aside: the other entries are still cleaned up.
        this.log?.error('store.file.corrupt', { store: 'file', file: join(this.files.dir, 'challenges', file), movedTo: null, error: describeError(error) });
        return [];
      }
      // File names are RUNID-NAME.json; the run id is a UUID (36 characters).
      const stem = file.slice(0, -'.json'.length);
      const key: StoreKey = `journal#${stem.slice(0, 36)}#${stem.slice(37)}`;
      return value ? [{ key, value }] : [];
    });
  }

  async tryLease(certificate: string, log: AuditLogger): Promise<Lease | undefined> {
    return this.locks.take(certificate, log);
  }

  async readLease(certificate: string): Promise<LeaseView | undefined> {
    return this.locks.view(certificate);
  }

  async isAtWork(holder: Holder, certificate: string): Promise<boolean> {
    return this.locks.isAtWork(holder, certificate);
  }

  close(): void {}
}

/** The file of each key: the layout stateDir had before keys existed. */
function pathOf(key: StoreKey): string {
  const [kind, ...rest] = key.split('#');
  switch (kind) {
    case 'cert':
      return `certificates/${rest[0]}.json`;
    case 'ratelimits':
      return `ratelimits/${rest[0]}.json`;
    case 'journal':
      return `challenges/${rest[0]}-${rest[1]}.json`;
    case 'account':
      return `accounts/${rest[0]}.json`;
    case 'notices':
      return `notices/${rest[0]}.json`;
    case 'facts':
      return `acm-facts/${rest[0]}.json`;
    case 'issued':
      return `issued/${rest[0]}.json`;
    default:
      throw new Error(`unknown store key ${key}`);
  }
}
