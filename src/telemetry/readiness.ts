import { describeError, type AuditEntry, type AuditLogger } from './logger.js';

/** One managed certificate's condition now (cert-manager's Ready condition: True or False, with why). */
export interface CertificateCondition {
  name: string;
  ready: boolean;
  /** Why it is not ready, in words. */
  reason?: string;
  notAfter: string | null;
  emergencyAt: string | null;
}

export interface ReadinessReport {
  ready: boolean;
  /** `ready`, `starting` (no pass has finished since the start) or `not-ready`. */
  status: 'ready' | 'starting' | 'not-ready';
  /** Why, in words, when not ready. */
  reasons?: string[];
  certificates: CertificateCondition[];
}

/** What the audit trail said last about one certificate. */
interface CertificateState {
  /** Unknown until a look says; null: nothing deployed. */
  notAfter?: number | null;
  emergencyAt?: number;
  /** The last renewal attempt (or look) failed, and nothing healthy since. */
  failing?: { since: number; error: string };
  /** Said by the last look: deployed but not served. */
  notServed?: string;
  /** Said by the last look: held past its emergency point, or a clock problem. */
  held?: string;
}

/**
 * Readiness: every managed certificate valid (judged against the clock at each request, so a
 * certificate that expires while renewals cannot succeed turns it false without any event), served, not
 * held past its emergency point and not failing at or after it. A failure before the emergency point
 * leaves a certificate ready (it is valid and there is time; `consecutive_failures` and the
 * notification tell); a pass that failed as a whole makes the agent not ready until one finishes.
 */
export class ReadinessTracker {
  private readonly certificates = new Map<string, CertificateState>();
  private passFinished = false;
  private passError?: string;

  constructor(private readonly now: () => number = Date.now) {}

  follow(log: AuditLogger): () => void {
    return log.subscribe((entry) => this.observe(entry));
  }

  observe({ event, fields }: AuditEntry): void {
    if (event === 'pass.started' && Array.isArray(fields.certificates)) {
      for (const name of fields.certificates) if (typeof name === 'string') this.state(name);
    }
    if (event === 'pass.finished') [this.passFinished, this.passError] = [true, undefined];
    if (event === 'pass.failed') this.passError = describeError(fields.error ?? 'unknown error');
    const name = typeof fields.certificate === 'string' ? fields.certificate : undefined;
    if (!name) return;
    const state = this.state(name);
    switch (event) {
      case 'renewal.decided': {
        // The second look after a lock (`after`) says only that another process acted.
        if (fields.after !== undefined) return;
        if (fields.notAfter === null || typeof fields.notAfter === 'string') state.notAfter = fields.notAfter === null ? null : Date.parse(fields.notAfter);
        state.emergencyAt = typeof fields.emergencyAt === 'string' ? Date.parse(fields.emergencyAt) : undefined;
        state.notServed = undefined;
        const checks = Array.isArray(fields.checks) ? fields.checks.map(String) : [];
        const reasons = Array.isArray(fields.reasons) ? fields.reasons.map(String) : [];
        // Names as the log line carries them (the contract; policy/checks.ts, a layer above, defines them).
        state.held = checks.includes('ClockSkew')
          ? reasons.find((reason) => reason.startsWith('clock problem'))
          : checks.includes('HeldPastEmergency')
            ? `${reasons.at(-1)} (checks: ${checks.join(', ')})`
            : undefined;
        // The record's count (a new process learns of earlier failures here; 0 after a recovery).
        if (fields.consecutiveFailures === 0) state.failing = undefined;
        else if (typeof fields.consecutiveFailures === 'number' && !state.failing)
          state.failing = { since: this.now(), error: `${fields.consecutiveFailures} failed attempt(s) in a row` };
        return;
      }
      case 'deploy.not_served':
        state.notServed = describeError(fields.error ?? 'an endpoint does not serve it');
        return;
      case 'clock.skew':
        state.held = `clock problem: ${describeError(fields.why ?? '')}`;
        return;
      case 'renewal.failed':
        state.failing = { since: state.failing?.since ?? this.now(), error: describeError(fields.error ?? 'unknown error') };
        return;
      case 'renewal.succeeded':
        if (typeof fields.notAfter === 'string') state.notAfter = Date.parse(fields.notAfter);
        // The emergency point of the new certificate comes with the next look.
        state.emergencyAt = undefined;
        state.failing = state.notServed = state.held = undefined;
        return;
      case 'certificate.recovered':
        state.failing = undefined;
        return;
    }
  }

  /** Each managed certificate's condition now. */
  conditions(): CertificateCondition[] {
    const now = this.now();
    return [...this.certificates].map(([name, state]) => {
      const reason = notReadyBecause(state, now);
      return {
        name,
        ready: reason === undefined,
        ...(reason !== undefined && { reason }),
        notAfter: typeof state.notAfter === 'number' ? new Date(state.notAfter).toISOString() : null,
        emergencyAt: state.emergencyAt !== undefined ? new Date(state.emergencyAt).toISOString() : null,
      };
    });
  }

  report(): ReadinessReport {
    const certificates = this.conditions();
    const reasons = [
      ...(this.passError ? [`the last pass failed as a whole: ${this.passError}`] : []),
      ...certificates.filter((c) => !c.ready).map((c) => `${c.name}: ${c.reason}`),
    ];
    if (!this.passFinished && !this.passError) return { ready: false, status: 'starting', reasons: ['no pass has finished since the start'], certificates };
    return reasons.length ? { ready: false, status: 'not-ready', reasons, certificates } : { ready: true, status: 'ready', certificates };
  }

  private state(name: string): CertificateState {
    let state = this.certificates.get(name);
    if (!state) this.certificates.set(name, (state = {}));
    return state;
  }
}

function notReadyBecause(state: CertificateState, now: number): string | undefined {
  if (state.notAfter === undefined) return state.failing ? `cannot be assessed: ${state.failing.error}` : 'not assessed yet';
  if (state.notAfter === null) return state.failing ? `nothing deployed; the last attempt failed: ${state.failing.error}` : 'nothing deployed yet';
  if (now >= state.notAfter) return `expired at ${new Date(state.notAfter).toISOString()}${state.failing ? `; the last attempt failed: ${state.failing.error}` : ''}`;
  if (state.notServed) return state.notServed;
  if (state.held) return state.held;
  if (state.failing && state.emergencyAt !== undefined && now >= state.emergencyAt) {
    return `failing in its emergency period (since ${new Date(state.emergencyAt).toISOString()}): ${state.failing.error}`;
  }
  return undefined;
}
