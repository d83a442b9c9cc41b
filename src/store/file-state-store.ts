import { closeSync, openSync, readdirSync, rmSync, writeSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { AuditLogger } from '../telemetry/logger.js';
import { FileStore, isAlive } from './file-store.js';
import { newHolder, type Holder, type Lease, type StateStore, type StoreKey } from './state-store.js';

interface LockFile {
  pid: number;
  holder?: Holder;
  since: string;
}

/**
 * The default store: JSON files in stateDir (0700, files 0600, atomic writes), laid out as before
 * the store interface existed, so an existing stateDir keeps working. The lease is a lock file
 * holding the owner's pid: it lasts as long as that process, so it needs no renewal, and a lock
 * whose process is gone is taken over. Shared by processes on one machine only.
 */
export class FileStateStore implements StateStore {
  readonly type = 'file';
  readonly holder = newHolder();
  readonly files: FileStore;

  constructor(dir: string) {
    this.files = new FileStore(dir);
  }

  async get<T>(key: StoreKey): Promise<T | undefined> {
    return this.files.read<T>(pathOf(key));
  }

  async put<T>(key: StoreKey, value: T): Promise<void> {
    this.files.write(pathOf(key), value);
  }

  async update<T>(key: StoreKey, change: (current: T | undefined) => T): Promise<T> {
    const next = change(this.files.read<T>(pathOf(key)));
    this.files.write(pathOf(key), next);
    return next;
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
      const value = this.files.read<T>(`challenges/${file}`);
      // File names are RUNID-NAME.json; the run id is a UUID (36 characters).
      const stem = file.slice(0, -'.json'.length);
      const key: StoreKey = `journal#${stem.slice(0, 36)}#${stem.slice(37)}`;
      return value ? [{ key, value }] : [];
    });
  }

  async tryLease(certificate: string, log: AuditLogger): Promise<Lease | undefined> {
    const relative = `locks/${certificate}.lock`;
    const path = join(this.files.dir, relative);
    this.files.ensureDir('locks');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
        const lock: LockFile = { pid: process.pid, holder: this.holder, since: new Date().toISOString() };
        writeSync(fd, JSON.stringify(lock));
        closeSync(fd);
        return { certificate, holder: this.holder, signal: new AbortController().signal, release: async () => rmSync(path, { force: true }) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        const previous = this.files.read<LockFile>(relative);
        if (previous && isAlive(previous.pid)) return undefined;
        rmSync(path, { force: true });
        log.warn('store.lease.taken_over', {
          store: 'file',
          lease: relative,
          previousHolder: previous?.holder?.id ?? (previous ? `pid ${previous.pid}` : null),
          previousSince: previous?.since ?? null,
          holder: this.holder.id,
          why: 'the process that held it is gone',
        });
      }
    }
    return undefined;
  }

  async isAtWork(holder: Holder): Promise<boolean> {
    return isAlive(holder.pid);
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
    default:
      throw new Error(`unknown store key ${key}`);
  }
}
