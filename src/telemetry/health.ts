import type { AuditEntry, AuditLogger } from './logger.js';
import { cronIntervalMs } from './schedule-interval.js';

export interface HealthReport {
  healthy: boolean;
  /** `ok`, `starting` (no pass finished yet, still within the allowed time), `failing` or `stale`. */
  status: 'ok' | 'starting' | 'failing' | 'stale';
  /** Why, in words, when not healthy. */
  reason?: string;
  lastPass?: { finishedAt: string; runId?: string; failed: number; failedCertificates: string[] };
  /** A pass must finish at least this often (2 × the schedule's longest gap + its jitter). */
  maxPassAgeSeconds?: number;
}

/**
 * `/healthz`: unhealthy when the last pass failed (a certificate failed, or the pass itself) or when no
 * pass has finished within 2 × the schedule's interval. Like metrics, it follows the audit events: the
 * daemon says its schedule in `daemon.started` (also the random default), passes end in `pass.finished`.
 */
export class HealthTracker {
  private readonly startedAt: number;
  private maxPassAgeMs?: number;
  private lastPass?: NonNullable<HealthReport['lastPass']> & { at: number; threw?: string };
  /** When the last pass started: a long pass under way is not a stale agent (until it overruns too). */
  private lastStartAt?: number;
  /** Certificates that failed, per runId, until that pass finishes. */
  private readonly failing = new Map<string, Set<string>>();

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  follow(log: AuditLogger): () => void {
    return log.subscribe((entry) => this.observe(entry));
  }

  observe({ event, fields }: AuditEntry): void {
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
        this.lastPass = { at: this.now(), finishedAt: new Date(this.now()).toISOString(), failed: 0, failedCertificates: [], threw: String(fields.error ?? 'unknown error') };
        return;
    }
  }

  report(): HealthReport {
    const now = this.now();
    const maxPassAgeSeconds = this.maxPassAgeMs !== undefined ? Math.round(this.maxPassAgeMs / 1000) : undefined;
    const base = { maxPassAgeSeconds };
    const since = Math.max(this.lastPass?.at ?? this.startedAt, this.lastStartAt ?? 0);
    if (this.maxPassAgeMs !== undefined && now - since > this.maxPassAgeMs) {
      const what = this.lastPass ? `the last pass started or finished at ${new Date(since).toISOString()}` : `no pass has finished since the start at ${new Date(this.startedAt).toISOString()}`;
      return { ...base, healthy: false, status: 'stale', reason: `${what}, more than ${maxPassAgeSeconds} s ago (2 × the schedule's longest interval + its jitter)`, lastPass: this.publicLastPass() };
    }
    if (!this.lastPass) return { ...base, healthy: true, status: 'starting' };
    if (this.lastPass.threw) return { ...base, healthy: false, status: 'failing', reason: `the last pass failed: ${this.lastPass.threw}`, lastPass: this.publicLastPass() };
    if (this.lastPass.failed > 0) {
      const names = this.lastPass.failedCertificates.length ? `: ${this.lastPass.failedCertificates.join(', ')}` : '';
      return { ...base, healthy: false, status: 'failing', reason: `${this.lastPass.failed} certificate(s) failed in the last pass${names}`, lastPass: this.publicLastPass() };
    }
    return { ...base, healthy: true, status: 'ok', lastPass: this.publicLastPass() };
  }

  private publicLastPass(): HealthReport['lastPass'] {
    if (!this.lastPass) return undefined;
    const { at: _at, threw: _threw, ...rest } = this.lastPass;
    return rest;
  }
}
