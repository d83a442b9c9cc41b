import { describeError, type AuditEntry, type AuditLogger } from './logger.js';
import { ReadinessTracker } from './readiness.js';
import { cronIntervalMs } from './schedule-interval.js';

export interface HealthReport {
  healthy: boolean;
  /** `ok`, `starting` (no pass finished yet, still within the allowed time) or `stale`. */
  status: 'ok' | 'starting' | 'stale';
  /** Why, in words, when not healthy. */
  reason?: string;
  /** For information: a failed certificate does not make the agent unhealthy (see `/readyz`). */
  lastPass?: { finishedAt: string; runId?: string; failed: number; failedCertificates: string[]; error?: string };
  /** A pass must start or finish at least this often (2 × the schedule's longest gap + its jitter). */
  maxPassAgeSeconds?: number;
}

/**
 * The daemon's health, from the audit events it writes (the daemon says its schedule in
 * `daemon.started`, also the random default; passes end in `pass.finished`):
 * - liveness (`/healthz`, `report()`): the loop runs and passes happen on schedule; unhealthy only when
 *   no pass started or finished within 2 × the schedule's interval. A failing certificate is not a
 *   reason to restart the agent: a restart would not fix it, only stop it from retrying.
 * - readiness (`/readyz`, `readiness.report()`): what is true of the certificates now (readiness.ts).
 */
export class HealthTracker {
  readonly readiness: ReadinessTracker;
  private readonly startedAt: number;
  private maxPassAgeMs?: number;
  private lastPass?: NonNullable<HealthReport['lastPass']> & { at: number };
  /** When the last pass started: a long pass under way is not a stale agent (until it overruns too). */
  private lastStartAt?: number;
  /** Certificates that failed, per runId, until that pass finishes. */
  private readonly failing = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
    this.readiness = new ReadinessTracker(now);
  }

  follow(log: AuditLogger): () => void {
    return log.subscribe((entry) => this.observe(entry));
  }

  observe(entry: AuditEntry): void {
    this.readiness.observe(entry);
    const { event, fields } = entry;
    const runId = typeof fields.runId === 'string' ? fields.runId : undefined;
    switch (event) {
      case 'daemon.started':
        if (typeof fields.cron === 'string') {
          const interval = cronIntervalMs(fields.cron, { timezone: typeof fields.timezone === 'string' ? fields.timezone : undefined });
          const jitterMs = typeof fields.jitterSeconds === 'number' ? fields.jitterSeconds * 1000 : 0;
          this.maxPassAgeMs = 2 * interval + jitterMs;
        }
        return;
      case 'pass.started':
        this.lastStartAt = this.now();
        return;
      case 'renewal.failed':
      case 'deploy.not_served':
        if (runId && typeof fields.certificate === 'string') {
          const set = this.failing.get(runId) ?? new Set<string>();
          this.failing.set(runId, set.add(fields.certificate));
        }
        return;
      case 'pass.finished': {
        const failedCertificates = [...(runId ? (this.failing.get(runId) ?? []) : [])];
        if (runId) this.failing.delete(runId);
        const failed = typeof fields.failed === 'number' ? fields.failed : failedCertificates.length;
        this.lastPass = { at: this.now(), finishedAt: new Date(this.now()).toISOString(), runId, failed, failedCertificates };
        return;
      }
      case 'pass.failed':
        this.lastPass = {
          at: this.now(),
          finishedAt: new Date(this.now()).toISOString(),
          failed: 0,
          failedCertificates: [],
          error: describeError(fields.error ?? 'unknown error'),
        };
        return;
    }
  }

  report(): HealthReport {
    const now = this.now();
    const maxPassAgeSeconds = this.maxPassAgeMs !== undefined ? Math.round(this.maxPassAgeMs / 1000) : undefined;
    const base = { maxPassAgeSeconds, ...(this.lastPass && { lastPass: this.publicLastPass() }) };
    const since = Math.max(this.lastPass?.at ?? this.startedAt, this.lastStartAt ?? 0);
    if (this.maxPassAgeMs !== undefined && now - since > this.maxPassAgeMs) {
      const what = this.lastPass
        ? `the last pass started or finished at ${new Date(since).toISOString()}`
        : `no pass has finished since the start at ${new Date(this.startedAt).toISOString()}`;
      return { ...base, healthy: false, status: 'stale', reason: `${what}, more than ${maxPassAgeSeconds} s ago (2 × the schedule's longest interval + its jitter)` };
    }
    return { ...base, healthy: true, status: this.lastPass ? 'ok' : 'starting' };
  }

  private publicLastPass(): HealthReport['lastPass'] {
    if (!this.lastPass) return undefined;
    const { at: _at, ...rest } = this.lastPass;
    return rest;
  }
}
