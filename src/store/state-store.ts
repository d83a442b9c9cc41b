import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { AuditLogger } from '../telemetry/logger.js';
import { readBootId, readStartTime } from './process-identity.js';

/**
 * Keys of the agent's state, one document each. They are DynamoDB partition keys as they are
 * (`cert#NAME`, …); the file store maps them to files under stateDir (see file-state-store.ts).
 */
export type StoreKey =
  `cert#${string}` | `ratelimits#${string}` | `journal#${string}#${string}` | `account#${string}` | `notices#${string}` | `facts#${string}` | `issued#${string}`;

/**
 * Two minutes: short enough that a crashed agent delays the next one's renewal by little, long enough
 * that two missed heartbeats (every 40 s) still keep it. Expiry is judged by each agent's clock: keep
 * them in NTP sync (seconds of skew are fine, minutes are not). Both stores use it.
 */
export const DEFAULT_LEASE_MS = 120_000;

/**
 * Who holds a lease or wrote a journal entry: unique per process, readable by a person, and provable:
 * a PID alone is reused by the next boot, or by the next container (node is PID 1 again there), so the
 * kernel's boot id and the process's start time go with it (both absent off Linux).
 */
export interface Holder {
  id: string;
  pid: number;
  host: string;
  bootId?: string;
  /** Field 22 of /proc/PID/stat: clock ticks from boot to the process's start. */
  startTime?: string;
}

export function newHolder(): Holder {
  const host = hostname();
  const bootId = readBootId();
  const startTime = readStartTime('self');
  return { id: `${host}:${process.pid}:${randomBytes(4).toString('hex')}`, pid: process.pid, host, ...(bootId && { bootId }), ...(startTime && { startTime }) };
}

/** A certificate's lease as another process sees it: who, since when, until when, and whether it counts. */
export interface LeaseView {
  holder: Holder;
  since: string;
  /** When the holder last renewed it; null for a lock written before heartbeats existed. */
  heartbeatAt: string | null;
  /** When it lapses unless renewed. */
  expiresAt: string;
  /** False: taken over by the next process that wants it. */
  live: boolean;
  /** Why it is (or is not) live, for people. */
  why: string;
}

/** The right to act on one certificate (order, import, touch its listeners), held by one process at a time. */
export interface Lease {
  readonly certificate: string;
  readonly holder: Holder;
  /** Aborted when the lease is lost (it could not be renewed in time, or another process holds it now). */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/**
 * Where the agent keeps what it remembers between passes (records, rate-limit ledger, challenge
 * journal, ACME account metadata) and how processes agree on who acts on a certificate. Async
 * because the shared implementation is a network service.
 */
export interface StateStore {
  readonly type: 'file' | 'dynamodb';
  /** This process, as it appears in leases and journal entries. */
  readonly holder: Holder;
  get<T>(key: StoreKey): Promise<T | undefined>;
  /** Writes a whole document whatever was there (no read first): for documents only one writer makes. */
  put<T>(key: StoreKey, value: T): Promise<void>;
  /** Read-modify-write, atomic against other processes (retried when someone wrote in between). */
  update<T>(key: StoreKey, change: (current: T | undefined) => T): Promise<T>;
  delete(key: StoreKey): Promise<void>;
  /** Every document whose key starts with this prefix. */
  list<T>(prefix: 'journal#' | 'facts#'): Promise<{ key: StoreKey; value: T }[]>;
  /** Takes the certificate's lease, or undefined when another live process holds it. */
  tryLease(certificate: string, log: AuditLogger): Promise<Lease | undefined>;
  /** Who holds the certificate's lease now (and whether it counts), or undefined when nobody does. */
  readLease(certificate: string): Promise<LeaseView | undefined>;
  /** Whether `holder` still holds (or may still be using) the certificate's lease: its journal entries are not orphans. */
  isAtWork(holder: Holder, certificate: string): Promise<boolean>;
  close(): void;
}
