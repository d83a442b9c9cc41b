import { randomUUID } from 'node:crypto';
import type { CertificateSpec } from '../config/schema.js';
import { Check, checksAndReasons, found, type Finding } from '../policy/checks.js';
import { earliestExpiring, type Decision } from '../policy/decide.js';
import { backoffUntil } from '../policy/backoff.js';
import { plannedRenewal } from '../policy/renewal-time.js';
import type { CertificateRecord } from '../store/certificate-records.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { assessCertificate, type Assessment } from './assess.js';
import type { AgentPorts } from './ports.js';
import { openPassScope, type PassScope } from './pass-scope.js';
import { announceEmergency } from './emergency-notice.js';
import { renewalDeadlineMs } from './deadlines.js';
import { overdueLockError } from '../store/lock-holder.js';
import { redeployCertificate, renewCertificate, type Deployment } from './renew-certificate.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { preflight } from '../preflight/preflight.js';
import { WorkSlots } from '../util/work-slots.js';
import type { ChallengeParticipant } from '../ports/challenge-solver.js';

/** What a pass did with one certificate; `result` says which fields it has. */
export type CertificateOutcome =
  /** Issued and deployed anew. */
  | (OutcomeOf<'renewed'> & { decision: Decision; deployments: Deployment[] })
  /** The certificate it had, put back on drifted listeners and/or leftovers retired. */
  | (OutcomeOf<'redeployed'> & { decision: Decision; deployments: Deployment[] })
  /** Nothing done: up to date, or held back (backoff, rate limits); the decision says which. */
  | (OutcomeOf<'unchanged'> & { decision: Decision })
  /** Another process holds the certificate's lease. */
  | (OutcomeOf<'busy'> & { decision: Decision })
  /** Stopped before it finished (shutdown); `decision` when it got that far, `error` when a renewal was under way. */
  | (OutcomeOf<'cancelled'> & { decision?: Decision; error?: string })
  /** `decision` absent when it failed before deciding (a pass that missed its deadline). */
  | (OutcomeOf<'failed'> & { decision?: Decision; error: string });

interface OutcomeOf<Result extends string> {
  name: string;
  result: Result;
  /** When this certificate next needs a look: its planned renewal, or for a fresh one the backstop point. */
  nextAssessmentAt?: Date;
}

export interface PassOptions {
  /** Only these certificates (all when empty). */
  names?: string[];
  force?: boolean;
  /** Why the renewal was forced, for the audit log. */
  reason?: string;
  ignoreRateLimits?: boolean;
  signal?: AbortSignal;
}

/** Certificates named on the command line that the config does not have: a usage error. */
export class UnknownCertificateError extends Error {
  override name = 'UnknownCertificateError';
}

export function selectCertificates(specs: CertificateSpec[], names: string[] = []): CertificateSpec[] {
  const unknown = names.filter((name) => !specs.some((spec) => spec.name === name));
  if (unknown.length > 0) {
    throw new UnknownCertificateError(`unknown certificate ${unknown.map((name) => `"${name}"`).join(', ')}; the config has: ${specs.map((spec) => spec.name).join(', ')}`);
  }
  return names.length ? specs.filter((spec) => names.includes(spec.name)) : specs;
}

// Let's Encrypt has allowed an account at most 300 pending authorizations: a wave of renewals that order
// together stays within that many names.
const MAX_NAMES_PER_WAVE = 300;
// The first look (reads only) when `concurrency` is unset: enough to keep the CA and AWS busy, whose
// request rates pace its calls anyway, without thousands of lookups in flight at once.
const FIRST_LOOK_CONCURRENCY = 16;

/**
 * One reconcile pass: observe what is deployed and decide for every certificate first (reads only,
 * `concurrency` or FIRST_LOOK_CONCURRENCY at a time), then act on the ones due. Those are renewed together,
 * in waves of at most MAX_NAMES_PER_WAVE names: every renewal of a wave orders, their challenges go to
 * Route 53 as one change per zone with one INSYNC wait, and their clean-up likewise, whatever `concurrency`
 * is. After that wait every renewal of the wave validates, finalizes, imports and binds at once, paced by
 * the request rates of the CA (acme/ca-http.ts) and AWS (aws/request-pacing.ts); a `concurrency` set in
 * the config bounds the renewals working at once (ordering, validating, deploying), not those waiting on Route 53.
 * Certificates are independent: one failing does not stop the others. Every line it logs carries the
 * pass's `runId`.
 */
export async function runPass(ctx: AgentPorts, options: PassOptions = {}): Promise<CertificateOutcome[]> {
  const specs = selectCertificates(ctx.config.certificates, options.names);
  const runId = randomUUID();
  const log = ctx.log.child({ runId });
  const started = ctx.clock.now().getTime();
  log.info('pass.started', { certificates: specs.map((spec) => spec.name), force: Boolean(options.force), reason: options.reason ?? null });
  // The pass's challenge session: its renewals share the DNS changes, all (or `concurrency`) of them working at once.
  const scope = openPassScope(ctx, 'fleet', { runId, log, slots: new WorkSlots(ctx.config.concurrency) });
  try {
    return await lookAndAct(ctx, options, specs, scope, runId, log, started);
  } finally {
    scope.challenges.close();
  }
}

/** The pass itself: records orphaned by earlier runs first, then the first look at every certificate, then the due ones in waves. */
async function lookAndAct(
  ctx: AgentPorts,
  options: PassOptions,
  specs: CertificateSpec[],
  scope: PassScope,
  runId: string,
  log: AuditLogger,
  started: number,
): Promise<CertificateOutcome[]> {
  await scope.challenges.cleanUpOrphans();

  const looked = await mapWithConcurrency(specs, ctx.config.concurrency ?? FIRST_LOOK_CONCURRENCY, (spec) =>
    lookAtCertificate(spec, ctx, scope, log.child({ certificate: spec.name }), options),
  );
  const acted = new Map<number, CertificateOutcome>();
  const due = looked.flatMap((entry, index) => ('due' in entry ? [{ ...entry.due, index }] : []));
  // Closest to expiry first (nothing deployed last): after an outage these are in the first wave.
  const expiresAt = (entry: DueCertificate) => entry.decision.validity?.notAfter.getTime() ?? Infinity;
  due.sort((a, b) => expiresAt(a) - expiresAt(b));
  for (const wave of renewalWaves(due)) {
    await Promise.all(
      // Every renewal of the wave takes part at once: the session waits for each to present (or not) before a change.
      wave.map((due) =>
        scope.challenges
          // A renewal close to its certificate's expiry waits for no straggler to share a change with.
          .takePart((challenges) => actOnCertificate(due, ctx, scope, runId, options, challenges), { servedUntil: due.decision.validity?.notAfter })
          .then((outcome) => void acted.set(due.index, outcome)),
      ),
    );
  }
  // Every certificate the first look left open was acted on in its wave.
  const outcomes = looked.map((entry, index) => ('outcome' in entry ? entry.outcome : acted.get(index)!));
  const count = (result: CertificateOutcome['result']) => outcomes.filter((outcome) => outcome.result === result).length;
  log.info('pass.finished', {
    durationMs: ctx.clock.now().getTime() - started,
    renewed: count('renewed'),
    redeployed: count('redeployed'),
    unchanged: count('unchanged'),
    failed: count('failed'),
    busy: count('busy'),
    cancelled: count('cancelled'),
  });
  return outcomes;
}

/** A certificate to renew or redeploy, as the first look saw it. */
interface DueCertificate {
  spec: CertificateSpec;
  log: AuditLogger;
  decision: Decision;
}

/** Consecutive groups of due certificates with at most `maxNames` names each (a larger certificate alone). */
export function renewalWaves<T extends { spec: Pick<CertificateSpec, 'domains'> }>(due: T[], maxNames = MAX_NAMES_PER_WAVE): T[][] {
  const result: T[][] = [];
  let names = Infinity;
  for (const entry of due) {
    if (names + entry.spec.domains.length > maxNames) {
      result.push([]);
      names = 0;
    }
    result[result.length - 1]!.push(entry);
    names += entry.spec.domains.length;
  }
  return result;
}

/** The first look: observe, decide and say so; what needs no lock ends here. */
async function lookAtCertificate(
  spec: CertificateSpec,
  ctx: AgentPorts,
  scope: PassScope,
  log: AuditLogger,
  options: PassOptions,
): Promise<{ outcome: CertificateOutcome } | { due: DueCertificate }> {
  if (options.signal?.aborted) return { outcome: { name: spec.name, result: 'cancelled' } };
  let decision: Decision | undefined;
  try {
    const assessment = await assessCertificate(spec, ctx, scope, ctx.clock.now(), log, { ...options, look: { zones: false } });
    decision = assessment.decision;
    const deployed = earliestExpiring(assessment.observation.regions);
    const previousFailures = assessment.record.consecutiveFailures ?? 0;
    // Valid, served and not due is healthy, whatever earlier attempts failed: the count goes back to 0,
    // the last failure stays in the record as history.
    const healthy = decision.action === 'none' && !decision.failing && found(decision.findings, Check.UpToDate);
    // A record that cannot be written now is reset by a later pass.
    if (healthy && previousFailures > 0) await ctx.store.records.update(spec.name, (record) => ({ ...record, consecutiveFailures: 0 })).catch(() => undefined);
    log.info('renewal.decided', {
      action: decision.action,
      ...checksAndReasons(decision.findings),
      renewAt: decision.renewAt?.toISOString() ?? null,
      // What is deployed and the history: the metrics and the health check follow these.
      serial: deployed?.serial ?? null,
      notAfter: deployed?.notAfter.toISOString() ?? null,
      emergencyAt: decision.validity?.emergencyAt.toISOString() ?? null,
      consecutiveFailures: healthy ? 0 : previousFailures,
      lastSuccessAt: assessment.record.lastSuccess?.at ?? null,
      ...(options.force && { forcedBecause: options.reason ?? null }),
    });
    if (healthy && previousFailures > 0) logRecovered(log, assessment.record, deployed?.serial, deployed?.notAfter);
    await announceEmergency(spec, assessment, ctx, log);
    if (decision.failing) return { outcome: await reportFailing(spec, ctx, log, assessment, decision.failing) };
    if (decision.action === 'none') return { outcome: { name: spec.name, result: 'unchanged', decision, nextAssessmentAt: decision.renewAt ?? undefined } };
    return { due: { spec, log, decision } };
  } catch (error) {
    return { outcome: await failed(spec, ctx, log, options, decision, error) };
  }
}

/**
 * The decision says the certificate is failing with nothing to do now (policy/decide.ts `failing`):
 * said in its audit event and reported as a failed outcome; not served is counted like any failure.
 */
async function reportFailing(spec: CertificateSpec, ctx: AgentPorts, log: AuditLogger, assessment: Assessment, failing: Finding): Promise<CertificateOutcome> {
  const { decision } = assessment;
  const error = failing.message;
  if (failing.check === Check.NotServed) {
    // A failure of this certificate like any other: counted, so that serving it again is a recovery.
    const record = await ctx.store.records
      .update(spec.name, (previous) => ({
        ...previous,
        lastFailure: { at: ctx.clock.now().toISOString(), error },
        consecutiveFailures: (previous.consecutiveFailures ?? 0) + 1,
      }))
      .catch(() => undefined);
    log.error('deploy.not_served', { error, served: assessment.served, consecutiveFailures: record?.consecutiveFailures ?? null });
  }
  // Held past the emergency point (rate limits, a clock problem): failing, not quietly waiting.
  if (failing.check === Check.HeldPastEmergency) {
    log.error('renewal.held_past_emergency', {
      until: decision.renewAt?.toISOString() ?? null,
      emergencyAt: decision.validity?.emergencyAt.toISOString() ?? null,
      notAfter: decision.validity?.notAfter.toISOString() ?? null,
      ...checksAndReasons(decision.findings),
    });
  }
  return { name: spec.name, result: 'failed', decision, error, nextAssessmentAt: decision.renewAt ?? undefined };
}

/** A certificate that was failing is healthy again: said once, so alerts and notifications resolve. */
function logRecovered(log: AuditLogger, record: CertificateRecord, serial: string | undefined, notAfter: Date | undefined): void {
  log.info('certificate.recovered', {
    previousFailures: record.consecutiveFailures ?? 0,
    lastError: record.lastFailure?.error ?? null,
    lastFailureAt: record.lastFailure?.at ?? null,
    serial: serial ?? null,
    notAfter: notAfter?.toISOString() ?? null,
  });
}

/** Takes the certificate's lease, looks again, and renews or redeploys it. */
async function actOnCertificate(
  { spec, log, decision }: DueCertificate,
  ctx: AgentPorts,
  scope: PassScope,
  runId: string,
  options: PassOptions,
  challenges: ChallengeParticipant,
): Promise<CertificateOutcome> {
  if (decision.action !== 'renew') challenges.presentsNothing();
  if (options.signal?.aborted) return { name: spec.name, result: 'cancelled', decision };
  try {
    const lease = await ctx.store.records.tryLease(spec.name, log);
    if (!lease) {
      // Busy for longer than a renewal may take is a wedged holder: failing (notified), not quietly busy.
      // Not our attempt, so the record's failure count stays. Either way, come back when its lock lapses.
      const held = await ctx.store.state.readLease(spec.name).catch(() => undefined);
      const nextAssessmentAt = held && !Number.isNaN(Date.parse(held.expiresAt)) ? new Date(held.expiresAt) : undefined;
      const lock = held && { holder: held.holder.id, host: held.holder.host, pid: held.holder.pid, since: held.since, expiresAt: held.expiresAt };
      const overdue = held && overdueLockError(held, renewalDeadlineMs(ctx.config, spec), ctx.clock.now().getTime());
      if (overdue) {
        log.error('renewal.failed', { error: overdue, lock });
        return { name: spec.name, result: 'failed', decision, error: overdue, nextAssessmentAt };
      }
      log.warn('renewal.skipped', { why: 'another certkeeper process is renewing this certificate', lock: lock ?? null });
      return { name: spec.name, result: 'busy', decision, nextAssessmentAt };
    }
    // Work stops when the pass is cancelled or the lease is lost (another agent may act from then on).
    const signal = options.signal ? AbortSignal.any([options.signal, lease.signal]) : lease.signal;
    try {
      // Decided before the lock: another process may have renewed it meanwhile. Look again, now that
      // nobody else can act, so a certificate is never ordered twice for one reason.
      // Fresh AWS observations, but the pass's zone listings: zones do not move under a lock, and
      // listing them again per certificate would spend Route 53's 5 requests/s.
      const current = await assessCertificate(
        spec,
        ctx,
        { challenges: scope.challenges, deployers: ctx.deployers.map((deployer) => deployer.forPass('single')) },
        ctx.clock.now(),
        log,
        { ...options, look: { served: false, zones: false } },
      );
      if (current.decision.action !== decision.action) {
        log.info('renewal.decided', { action: current.decision.action, ...checksAndReasons(current.decision.findings), after: 'another process acted first' });
        return { name: spec.name, result: 'unchanged', decision: current.decision, nextAssessmentAt: current.decision.renewAt ?? undefined };
      }
      if (decision.action === 'redeploy') {
        const deployments = await redeployCertificate(spec, current.observation, scope, log, signal);
        log.info('deploy.redeployed', { reasons: checksAndReasons(decision.findings).reasons, deployments });
        return { name: spec.name, result: 'redeployed', decision, deployments, nextAssessmentAt: decision.plan?.renewAt };
      }
      // Before any order: what can be checked is (src/preflight); a failure is a failed renewal, no order spent.
      // A kept issued certificate is deployed with no order (and no CA): nothing for the preflight to spare.
      if (!current.issued) await preflight(spec, ctx, scope, log);
      log.info('renewal.started', { domains: spec.domains, keyType: spec.keyType, reasons: checksAndReasons(decision.findings).reasons, replaces: current.replaces ?? null });
      const renewed = await renewCertificate(spec, current, ctx, scope, log, runId, signal, challenges);
      // The last failure stays as history (status shows it); the count starts again.
      await ctx.store.records.update(spec.name, (record) => ({
        ...record,
        lastSuccess: { at: ctx.clock.now().toISOString(), serial: renewed.serial, notAfter: renewed.notAfter.toISOString() },
        consecutiveFailures: 0,
      }));
      log.info('renewal.succeeded', { serial: renewed.serial, notAfter: renewed.notAfter.toISOString(), deployments: renewed.deployments });
      if ((current.record.consecutiveFailures ?? 0) > 0) logRecovered(log, current.record, renewed.serial, renewed.notAfter);
      // The CA's window for the new certificate is asked for at that look; the backstop point bounds it.
      const nextAssessmentAt = plannedRenewal(renewed, ctx.clock.now(), { renewBefore: spec.renewBefore }).renewAt;
      return { name: spec.name, result: 'renewed', decision, deployments: renewed.deployments, nextAssessmentAt };
    } finally {
      await lease.release();
    }
  } catch (error) {
    return failed(spec, ctx, log, options, decision, error);
  }
}

/** A certificate's pass ended in an error: cancelled, or a failure counted in its record. */
async function failed(spec: CertificateSpec, ctx: AgentPorts, log: AuditLogger, options: PassOptions, decision: Decision | undefined, error: unknown): Promise<CertificateOutcome> {
  const message = describeError(error);
  if (options.signal?.aborted) {
    log.warn('renewal.cancelled', { error: message });
    return { name: spec.name, result: 'cancelled', decision, error: message };
  }
  // The record is history: when it cannot be written, the failure is still reported and the pass goes on.
  let record: CertificateRecord | undefined;
  let recordError: string | undefined;
  try {
    record = await ctx.store.records.update(spec.name, (previous) => ({
      ...previous,
      lastFailure: { at: ctx.clock.now().toISOString(), error: message },
      consecutiveFailures: (previous.consecutiveFailures ?? 0) + 1,
    }));
  } catch (updateError) {
    recordError = `the certificate's record could not be updated: ${describeError(updateError)}`;
  }
  const consecutiveFailures = record?.consecutiveFailures ?? null;
  log.error('renewal.failed', { error: message, consecutiveFailures, ...(recordError && { recordError }) });
  // Looked at again when the backoff ends: bounded by the lifetime left (from the last success when
  // nothing could be observed), so the daemon never forgets a failing certificate.
  const lastSuccess = record?.lastSuccess && { notBefore: new Date(record.lastSuccess.at), notAfter: new Date(record.lastSuccess.notAfter) };
  const nextAssessmentAt = backoffUntil(consecutiveFailures ?? 1, ctx.clock.now(), decision?.validity ?? lastSuccess);
  return { name: spec.name, result: 'failed', decision, error: message, nextAssessmentAt };
}
