import type { Holder } from './state-store.js';

/** A lock file as written since heartbeats exist; `pid` repeats holder.pid for certkeeper versions that read only it. */
export interface LockDocument {
  holder: Holder;
  pid: number;
  since: string;
  heartbeatAt: string;
  expiresAt: string;
}

/** A lock file of an older certkeeper: the holder's pid (and maybe holder), no heartbeat. */
export interface OldLockDocument {
  pid: number;
  since: string;
  holder?: Pick<Holder, 'id' | 'pid' | 'host'>;
}

/** What this process can see of the machine it runs on, for judging a lock. */
export interface Vantage {
  now: number;
  host: string;
  bootId?: string;
  leaseMs: number;
  /** Whether a PID of this host runs, and its start time when /proc tells. */
  probe(pid: number): { running: boolean; startTime?: string };
}

export interface LockVerdict {
  live: boolean;
  why: string;
  /** When the lock lapses unless its holder renews it (ms). */
  expiresAt: number;
}

// A clock a few minutes off is tolerated; an expiry further ahead than that was not written by a sane clock.
const CLOCK_SKEW_MS = 5 * 60_000;

/**
 * Whether an existing lock still counts, in the order a stale one is most cheaply recognised:
 * - its heartbeat expired (or, for a lock without one, it is older than one lease): stale;
 * - it names ANOTHER host: nothing here can tell whether that process lives (a second container may share
 *   the volume for a one-off `renew --force`), so it is judged by its heartbeat alone and taken over once
 *   not renewed within its lease;
 * - same host, another boot id: stale, the machine restarted;
 * - same host and boot, no such PID: stale, the process is gone;
 * - same host and boot, the PID runs but started at another time than recorded: stale, the PID was
 *   reused (a restarted container's node is PID 1 again, and so was the one that died);
 * - otherwise it is live.
 */
export function judgeLock(lock: LockDocument | OldLockDocument, here: Vantage): LockVerdict {
  const holder = 'heartbeatAt' in lock ? lock.holder : { id: lock.holder?.id ?? `pid ${lock.pid}`, pid: lock.pid, host: lock.holder?.host ?? '' };
  const heartbeat = 'heartbeatAt' in lock ? lock.heartbeatAt : undefined;
  const expiresAt = heartbeat !== undefined ? Date.parse((lock as LockDocument).expiresAt) : Date.parse(lock.since) + here.leaseMs;
  const verdict = (live: boolean, why: string): LockVerdict => ({ live, why, expiresAt });
  const until = Number.isNaN(expiresAt) ? 'an unreadable time' : new Date(expiresAt).toISOString();

  if (!(expiresAt > here.now)) {
    return verdict(
      false,
      heartbeat !== undefined
        ? `heartbeat expired: not renewed since ${heartbeat} (it lapsed at ${until})`
        : `heartbeat expired: a lock without heartbeat (older certkeeper) taken at ${lock.since}, more than one lease (${here.leaseMs / 1000} s) ago`,
    );
  }
  if (expiresAt - here.now > here.leaseMs + CLOCK_SKEW_MS) {
    return verdict(false, `heartbeat expired: its expiry ${until} lies further ahead than one lease (the clock that wrote it is wrong)`);
  }
  // An older lock without a host was written by the file store, which served one machine: this one.
  if (holder.host && holder.host !== here.host) {
    return verdict(true, `held by another host (${holder.host}): its process cannot be checked from here, so the lock counts until its heartbeat lapses at ${until}`);
  }
  if ('bootId' in holder && holder.bootId && here.bootId && holder.bootId !== here.bootId) {
    return verdict(false, `another boot: taken before this machine restarted (boot id ${holder.bootId}, now ${here.bootId})`);
  }
  const found = here.probe(holder.pid);
  if (!found.running) return verdict(false, `process gone: no process ${holder.pid} runs on this host`);
  const recorded = 'startTime' in holder ? holder.startTime : undefined;
  if (recorded && found.startTime && recorded !== found.startTime) {
    return verdict(
      false,
      `PID reused by another process: ${holder.pid} now started at tick ${found.startTime}, the holder at tick ${recorded} (e.g. a restarted container's PID 1)`,
    );
  }
  return verdict(true, `held by process ${holder.pid} running on this host${heartbeat !== undefined ? `, heartbeat until ${until}` : ''}`);
}

/**
 * A live lock held longer than a renewal may take (`maxAgeMs`, see agent/deadlines.ts) is a wedged
 * renewal, not a busy certificate: the error a person gets, naming the holder and what to do.
 */
export function overdueLockError(lock: { holder: Holder; since: string; live: boolean }, maxAgeMs: number, now: number): string | undefined {
  const age = now - Date.parse(lock.since);
  if (!lock.live || !(age > maxAgeMs)) return undefined;
  const { holder } = lock;
  return (
    `another certkeeper process has held this certificate's lock for ${Math.round(age / 1000)} s, longer than a renewal may take ` +
    `(${Math.round(maxAgeMs / 1000)} s): ${holder.id} (host ${holder.host}, pid ${holder.pid}) since ${lock.since}. ` +
    `If that process is stuck, stop it (its lock is then taken over by the next pass); if it runs on another host, ` +
    `check it there; certkeeper status shows the lock`
  );
}
