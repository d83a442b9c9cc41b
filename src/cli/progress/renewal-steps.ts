import type { AuditEntry } from '../../telemetry/logger.js';

/**
 * The step each certificate's renewal is at, read from the audit events the renewal already writes (no
 * callbacks threaded through the pipeline): a pure state machine, one row per certificate being renewed or
 * redeployed. Certificates that are not due get no row (the command's summary lists them).
 */

export type Step =
  'preflight' | 'ordering' | 'presenting' | 'waiting for Route 53 INSYNC' | 'checking propagation' | 'validating' | 'finalizing' | 'importing' | 'binding' | 'verifying';

export interface ProgressRow {
  name: string;
  startedAt: number;
  step: Step;
  /** When the current step began: the elapsed seconds of a wait (INSYNC) count from here. */
  stepSince: number;
  /** Route 53 changes of this renewal not reported INSYNC yet. */
  pendingChanges: string[];
  done?: { ok: boolean; at: number; what: string };
}

export interface StepOptions {
  /** `route53.propagation.check`: after INSYNC the renewal checks propagation before the CA validates. */
  propagationCheck: boolean;
}

export class RenewalSteps {
  private readonly byName = new Map<string, ProgressRow>();

  constructor(private readonly options: StepOptions) {}

  rows(): ProgressRow[] {
    return [...this.byName.values()];
  }

  /** Every row has its ✓ or ✗. */
  settled(): boolean {
    return this.rows().every((row) => row.done);
  }

  /** Drops the settled rows (a daemon's next pass starts a new block). */
  forgetSettled(): void {
    for (const [name, row] of this.byName) if (row.done) this.byName.delete(name);
  }

  /** Applies one audit event; true when a row changed. */
  apply({ event, fields }: AuditEntry, now: number): boolean {
    // INSYNC is one poll per Route 53 change, logged once for every renewal sharing that change.
    if (event === 'dns.change.insync') return this.changeInsync(String(fields.changeId), now);
    const name = fields.certificate;
    if (typeof name !== 'string') return false;
    const row = this.byName.get(name);
    if (event === 'renewal.decided') return this.decided(name, row, fields, now);
    // A dry run decides nothing: every named certificate goes through the path against the staging CA.
    if (event === 'renewal.dry_run_started') return this.start(name, 'preflight', now);
    if (!row || row.done) return false;
    switch (event) {
      case 'renewal.started':
        return this.to(row, 'ordering', now);
      case 'acme.order.created':
        return this.to(row, 'presenting', now);
      case 'dns.challenge.presented':
        row.pendingChanges.push(...stringsOf(fields.changeIds));
        return this.to(row, 'waiting for Route 53 INSYNC', now);
      case 'dns.challenge.propagated':
        return this.to(row, 'validating', now);
      case 'acme.challenges.valid':
        return this.to(row, 'finalizing', now);
      case 'acme.order.finalized':
      case 'renewal.resumed_issued':
        return this.to(row, 'importing', now);
      case 'acm.imported':
        return this.to(row, 'binding', now);
      case 'deploy.verifying':
        return this.to(row, 'verifying', now);
      case 'renewal.succeeded':
        return this.finish(row, true, 'renewed', now);
      case 'deploy.redeployed':
        return this.finish(row, true, 'redeployed', now);
      case 'renewal.dry_run_succeeded':
        return this.finish(row, true, 'dry run passed', now);
      case 'renewal.failed':
      case 'renewal.dry_run_failed':
        return this.finish(row, false, `failed: ${String(fields.error)}`, now);
      case 'renewal.cancelled':
        return this.finish(row, false, 'cancelled', now);
      case 'renewal.skipped':
        return this.finish(row, false, 'skipped: another certkeeper process is renewing it', now);
      default:
        return false;
    }
  }

  private decided(name: string, row: ProgressRow | undefined, fields: Record<string, unknown>, now: number): boolean {
    const action = fields.action;
    if (row && !row.done) {
      // Looked at again under its lock: another process had acted first.
      if (action === 'none') return this.finish(row, true, 'up to date: another certkeeper process renewed it', now);
      return false;
    }
    if (action !== 'renew' && action !== 'redeploy') return false;
    return this.start(name, action === 'renew' ? 'preflight' : 'binding', now);
  }

  private start(name: string, step: Step, now: number): boolean {
    this.byName.set(name, { name, startedAt: now, step, stepSince: now, pendingChanges: [] });
    return true;
  }

  private changeInsync(changeId: string, now: number): boolean {
    let changed = false;
    for (const row of this.byName.values()) {
      if (row.done || row.step !== 'waiting for Route 53 INSYNC' || !row.pendingChanges.includes(changeId)) continue;
      row.pendingChanges = row.pendingChanges.filter((id) => id !== changeId);
      if (row.pendingChanges.length === 0) changed = this.to(row, this.options.propagationCheck ? 'checking propagation' : 'validating', now) || changed;
    }
    return changed;
  }

  private to(row: ProgressRow, step: Step, now: number): boolean {
    if (row.step === step) return false;
    row.step = step;
    row.stepSince = now;
    return true;
  }

  private finish(row: ProgressRow, ok: boolean, what: string, now: number): boolean {
    row.done = { ok, at: now, what };
    return true;
  }
}

function stringsOf(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}
