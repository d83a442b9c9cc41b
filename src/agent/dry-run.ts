import { randomUUID } from 'node:crypto';
import type { CertificateSpec } from '../config/schema.js';
import type { ChallengeParticipant } from '../ports/challenge-solver.js';
import type { Issuer } from '../ports/issuer.js';
import { preflight } from '../preflight/preflight.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { anySignal } from '../util/deadline-signal.js';
import { WorkSlots } from '../util/work-slots.js';
import { renewalDeadlineMs, withinRenewalDeadline } from './deadlines.js';
import { renewalWaves, selectCertificates } from './pass.js';
import { openPassScope, type PassScope } from './pass-scope.js';
import type { AgentPorts } from './ports.js';

/** What a dry run proved for one certificate. */
export type DryRunOutcome =
  /** The staging CA issued it after real DNS-01 (records presented and removed); nothing deployed, nothing kept. */
  | { name: string; result: 'succeeded'; serial: string; notAfter: string; orderUrl: string }
  /** A step of the path failed (`error` says which and why); what it presented is removed all the same. */
  | { name: string; result: 'failed'; error: string }
  /** Stopped (SIGINT/SIGTERM) before it finished. */
  | { name: string; result: 'cancelled'; error?: string };

export interface DryRunOptions {
  /** Only these certificates (all when empty). */
  names?: string[];
  signal?: AbortSignal;
}

/**
 * `renew --dry-run`: the whole renewal path but the change to what is served, for every named certificate
 * whatever is due (as certbot's --dry-run): the preflight (CA and account, zones, targets, IAM), an order
 * from `staging` (the CA's staging directory), DNS-01 on the real provider sharing one change per zone
 * like a pass, with clean-up. Then nothing: no ACM import, no listener change, no record, no rate-limit
 * ledger entry, no backoff, no kept certificate. The issued certificate and its key stay in memory and go.
 *
 * Every line it logs carries `dryRun: true`; its outcomes are `renewal.dry_run_*` events, never
 * `renewal.succeeded`/`renewal.failed`, so no metric, alert or notification takes it for a renewal.
 * It takes the certificate's lease like a renewal: a renewal under way elsewhere is not raced on its
 * challenge records.
 */
export async function runDryRun(ctx: AgentPorts, staging: Issuer, options: DryRunOptions = {}): Promise<DryRunOutcome[]> {
  const specs = selectCertificates(ctx.config.certificates, options.names);
  const runId = randomUUID();
  const log = ctx.log.child({ runId, dryRun: true });
  const scope = openPassScope(ctx, 'fleet', { runId, log, slots: new WorkSlots(ctx.config.concurrency) });
  const outcomes = new Map<string, DryRunOutcome>();
  try {
    await scope.challenges.cleanUpOrphans();
    for (const wave of renewalWaves(specs.map((spec) => ({ spec })))) {
      await Promise.all(
        wave.map(({ spec }) =>
          scope.challenges
            .takePart((challenges) => dryRunOne(spec, ctx, staging, scope, log.child({ certificate: spec.name }), challenges, options.signal))
            .then((outcome) => void outcomes.set(spec.name, outcome)),
        ),
      );
    }
  } finally {
    scope.challenges.close();
  }
  return specs.map((spec) => outcomes.get(spec.name)!);
}

async function dryRunOne(
  spec: CertificateSpec,
  ctx: AgentPorts,
  staging: Issuer,
  scope: PassScope,
  log: AuditLogger,
  challenges: ChallengeParticipant,
  cancel: AbortSignal | undefined,
): Promise<DryRunOutcome> {
  const started = ctx.clock.now().getTime();
  const directoryUrl = ctx.config.acme.stagingDirectoryUrl;
  log.info('renewal.dry_run_started', { domains: spec.domains, keyType: spec.keyType, directoryUrl });
  let step = 'taking the lease';
  try {
    if (cancel?.aborted) throw cancel.reason;
    const lease = await ctx.store.records.tryLease(spec.name, log);
    if (!lease) throw new Error('another certkeeper process is renewing this certificate; try the dry run again once it is done');
    try {
      // As a renewal's: cancelled on SIGTERM or a lost lease, and bounded by the renewal's deadline.
      const signal = cancel ? anySignal([lease.signal, cancel]) : lease.signal;
      const issued = await withinRenewalDeadline(
        renewalDeadlineMs(ctx.config, spec),
        signal,
        async (bounded, onStep) => {
          onStep('the preflight');
          await preflight(spec, { config: ctx.config, issuer: staging, iamSimulator: ctx.iamSimulator }, scope, log);
          onStep('ordering from the staging CA');
          // Not kept: nothing is deployed from a dry run, and its key never leaves this process.
          return staging.issue(spec, { challenges, log, signal: bounded, onStep, onIssued: async () => {} });
        },
        (next) => (step = next),
      );
      const outcome = { name: spec.name, result: 'succeeded' as const, serial: issued.facts.serial, notAfter: issued.facts.notAfter.toISOString(), orderUrl: issued.orderUrl };
      log.info('renewal.dry_run_succeeded', {
        directoryUrl,
        orderUrl: issued.orderUrl,
        serial: outcome.serial,
        notAfter: outcome.notAfter,
        issuer: issued.facts.issuer,
        durationMs: ctx.clock.now().getTime() - started,
        notDone: 'no ACM import, no listener change, nothing recorded',
      });
      return outcome;
    } finally {
      await lease.release();
    }
  } catch (error) {
    if (cancel?.aborted) {
      log.warn('renewal.dry_run_failed', { error: `cancelled while ${step}`, directoryUrl, durationMs: ctx.clock.now().getTime() - started });
      return { name: spec.name, result: 'cancelled', error: `cancelled while ${step}` };
    }
    const message = describeError(error);
    log.error('renewal.dry_run_failed', { error: message, step, directoryUrl, durationMs: ctx.clock.now().getTime() - started });
    return { name: spec.name, result: 'failed', error: message };
  }
}
