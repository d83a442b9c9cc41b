import { describeError, type AuditLogger } from '../telemetry/logger.js';
import type { FileStore } from './file-store.js';
import { judgeLock, type LockDocument, type LockVerdict, type OldLockDocument, type Vantage } from './lock-holder.js';
import { isRunning, readBootId, readStartTime } from './process-identity.js';
import type { Holder, Lease, LeaseView } from './state-store.js';

export interface FileLockOptions {
  /** How long a lock lasts without a heartbeat: a holder that died unnoticed blocks its certificate this long. */
  leaseMs: number;
  /** How often the holder renews it; a few heartbeats fit in one lease, so one slow write loses nothing. */
  heartbeatEveryMs: number;
}

/**
 * The file store's lease: `stateDir/locks/NAME.lock` holding { holder, since, heartbeatAt, expiresAt }.
 * Created exclusively and durably (see FileStore.createExclusive), renewed every heartbeatEveryMs while
 * held, and judged by judgeLock: a lock whose holder provably is gone (another boot, no such process, its
 * PID reused) or whose heartbeat lapsed is taken over (`store.lease.taken_over`, with why).
 */
export class FileLocks {
  private readonly bootId = readBootId();

  constructor(
    private readonly files: FileStore,
    private readonly holder: Holder,
    private readonly options: FileLockOptions,
  ) {}

  take(certificate: string, log: AuditLogger): Lease | undefined {
    const path = lockPath(certificate);
    this.files.ensureDir('locks');
    let replaced: { previous: LockDocument | OldLockDocument; verdict: LockVerdict } | undefined;
    // Each round either takes it, finds it live, or clears one stale or damaged lock: three settle every race.
    for (let round = 0; round < 3; round++) {
      const now = Date.now();
      const lock: LockDocument = { holder: this.holder, pid: this.holder.pid, since: iso(now), heartbeatAt: iso(now), expiresAt: iso(now + this.options.leaseMs) };
      if (this.files.createExclusive(path, lock)) {
        if (replaced) {
          const previous = holderOf(replaced.previous);
          log.warn('store.lease.taken_over', {
            store: 'file',
            lease: path,
            previousHolder: previous.id,
            previousHost: previous.host || null,
            previousPid: previous.pid,
            previousSince: replaced.previous.since,
            previousExpiresAt: iso(replaced.verdict.expiresAt),
            holder: this.holder.id,
            why: replaced.verdict.why,
          });
        }
        return this.keepFresh(certificate, lock, log);
      }
      // A damaged lock is moved aside (and reported) by the read: then it is absent, and the next round takes it.
      const current = this.files.readDocument<LockDocument | OldLockDocument>(path);
      if (!current) continue;
      const verdict = judgeLock(current.value, this.vantage());
      if (verdict.live) return undefined;
      // Removed only if it is still the lock judged: another process may have taken it over meanwhile.
      if (this.files.removeIfUnchanged(path, current.text)) replaced = { previous: current.value, verdict };
    }
    return undefined;
  }

  view(certificate: string): LeaseView | undefined {
    const current = this.files.readDocument<LockDocument | OldLockDocument>(lockPath(certificate));
    if (!current) return undefined;
    const lock = current.value;
    const verdict = judgeLock(lock, this.vantage());
    return {
      holder: holderOf(lock),
      since: lock.since,
      heartbeatAt: 'heartbeatAt' in lock ? lock.heartbeatAt : null,
      expiresAt: iso(verdict.expiresAt),
      live: verdict.live,
      why: verdict.why,
    };
  }

  /** Whether `holder` holds this certificate's lock and that lock is live (the journal's orphan check). */
  isAtWork(holder: Holder, certificate: string): boolean {
    const current = this.files.readDocument<LockDocument | OldLockDocument>(lockPath(certificate));
    if (!current) return false;
    const lock = current.value;
    const named = holderOf(lock);
    // Journal entries of older versions carry only a pid ("pid N"), like their locks.
    if (named.id !== holder.id && !(named.id === `pid ${lock.pid}` && lock.pid === holder.pid)) return false;
    return judgeLock(lock, this.vantage()).live;
  }

  private vantage(): Vantage {
    return {
      now: Date.now(),
      host: this.holder.host,
      bootId: this.bootId,
      leaseMs: this.options.leaseMs,
      probe: (pid) => (isRunning(pid) ? { running: true, startTime: readStartTime(pid) } : { running: false }),
    };
  }

  /**
   * Renews the lock every heartbeatEveryMs (atomic rewrite) until released. Its signal aborts when the lock
   * is no longer ours (taken over after this process stalled past its lease) or could not be renewed while
   * more than one heartbeat interval was left: the work stops before another process may start.
   */
  private keepFresh(certificate: string, taken: LockDocument, log: AuditLogger): Lease {
    const path = lockPath(certificate);
    const controller = new AbortController();
    let heldUntil = Date.parse(taken.expiresAt);
    let lastError: string | undefined;
    const lose = (why: string) => {
      if (controller.signal.aborted) return;
      clearInterval(timer);
      log.error('store.lease.lost', { store: 'file', lease: path, holder: this.holder.id, error: why });
      controller.abort(new Error(`lost the lease on ${certificate}: ${why}`));
    };
    const beat = () => {
      const now = Date.now();
      if (now + this.options.heartbeatEveryMs >= heldUntil) {
        return lose(`not renewed in time (${lastError ?? 'the heartbeat came too late'}); it lapsed at ${iso(heldUntil)}`);
      }
      try {
        const current = this.files.readDocument<LockDocument | OldLockDocument>(path);
        if (!current || holderOf(current.value).id !== this.holder.id) return lose('another process holds it now (it was taken over)');
        this.files.write(path, { ...taken, heartbeatAt: iso(now), expiresAt: iso(now + this.options.leaseMs) } satisfies LockDocument);
        heldUntil = now + this.options.leaseMs;
        lastError = undefined;
      } catch (error) {
        lastError = describeError(error);
      }
    };
    const timer = setInterval(beat, this.options.heartbeatEveryMs);
    timer.unref();
    return {
      certificate,
      holder: this.holder,
      signal: controller.signal,
      release: async () => {
        clearInterval(timer);
        try {
          const current = this.files.readDocument<LockDocument | OldLockDocument>(path);
          if (current && holderOf(current.value).id === this.holder.id) this.files.removeIfUnchanged(path, current.text);
        } catch (error) {
          // It lapses by itself within one lease: the work it guarded is done.
          log.warn('store.lease.release_failed', { store: 'file', lease: path, holder: this.holder.id, error: describeError(error), expiresAt: iso(heldUntil) });
        }
      },
    };
  }
}

function lockPath(certificate: string): string {
  return `locks/${certificate}.lock`;
}

/** The holder a lock names; an older lock without one is known by its pid. */
function holderOf(lock: LockDocument | OldLockDocument): Holder {
  if ('heartbeatAt' in lock) return lock.holder;
  return { id: lock.holder?.id ?? `pid ${lock.pid}`, pid: lock.pid, host: lock.holder?.host ?? '' };
}

function iso(ms: number): string {
  return Number.isNaN(ms) ? 'unknown' : new Date(ms).toISOString();
}
