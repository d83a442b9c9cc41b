import { randomUUID } from 'node:crypto';
import type { CertificateSpec } from '../config/schema.js';
import { observeCertificate, type Observation } from '../observe/deployed.js';
import { decide, type Decision } from '../policy/decide.js';
import { describeError } from '../telemetry/logger.js';
import type { AgentContext } from './context.js';
import { renewCertificate, type Deployment } from './renew-certificate.js';

export interface CertificateOutcome {
  name: string;
  result: 'renewed' | 'unchanged' | 'failed' | 'busy' | 'cancelled';
  decision?: Decision;
  deployments?: Deployment[];
  error?: string;
}

export interface PassOptions {
  /** Only these certificates (all when empty). */
  names?: string[];
  force?: boolean;
  signal?: AbortSignal;
}

/** Certificates named on the command line that the config does not have: a usage error. */
export class UnknownCertificateError extends Error {
  override name = 'UnknownCertificateError';
}

export function selectCertificates(specs: CertificateSpec[], names: string[] = []): CertificateSpec[] {
  const unknown = names.filter((name) => !specs.some((spec) => spec.name === name));
  if (unknown.length > 0) {
    throw new UnknownCertificateError(
      `unknown certificate ${unknown.map((name) => `"${name}"`).join(', ')}; the config has: ${specs.map((spec) => spec.name).join(', ')}`,
    );
  }
  return names.length ? specs.filter((spec) => names.includes(spec.name)) : specs;
}

/**
 * One reconcile pass: observe what is deployed, decide, renew what is due, record. Certificates are
 * independent: one failing does not stop the others. Every line it logs carries the pass's `runId`.
 */
export async function runPass(ctx: AgentContext, options: PassOptions = {}): Promise<CertificateOutcome[]> {
  const specs = selectCertificates(ctx.config.certificates, options.names);
  const runId = randomUUID();
  const log = ctx.log.child({ runId });
  const started = Date.now();
  log.info('pass.started', { certificates: specs.map((spec) => spec.name), force: Boolean(options.force) });
  await cleanUpOrphanedChallenges(ctx, log);

  const scope = ctx.forPass();
  const outcomes: CertificateOutcome[] = [];
  for (const spec of specs) {
    if (options.signal?.aborted) {
      outcomes.push({ name: spec.name, result: 'cancelled' });
      continue;
    }
    const certLog = log.child({ certificate: spec.name });
    let decision: Decision | undefined;
    try {
      const observation = await observeCertificate(spec, ctx.records.get(spec.name), scope.acm);
      decision = decideFor(spec, observation, new Date(), options.force);
      certLog.info('renewal.decided', { action: decision.action, checks: decision.checks, reasons: decision.reasons });
      if (decision.action === 'none') {
        outcomes.push({ name: spec.name, result: 'unchanged', decision });
        continue;
      }
      const unlock = ctx.records.tryLock(spec.name);
      if (!unlock) {
        certLog.warn('renewal.skipped', { why: 'another certkeeper process is renewing this certificate' });
        outcomes.push({ name: spec.name, result: 'busy', decision });
        continue;
      }
      try {
        certLog.info('renewal.started', { domains: spec.domains, keyType: spec.keyType, reasons: decision.reasons });
        const renewed = await renewCertificate(spec, observation, ctx, scope, certLog, runId, options.signal);
        ctx.records.update(spec.name, (record) => ({
          ...record,
          lastSuccess: { at: new Date().toISOString(), serial: renewed.serial, notAfter: renewed.notAfter.toISOString() },
          consecutiveFailures: 0,
        }));
        certLog.info('renewal.succeeded', { serial: renewed.serial, notAfter: renewed.notAfter.toISOString(), deployments: renewed.deployments });
        outcomes.push({ name: spec.name, result: 'renewed', decision, deployments: renewed.deployments });
      } finally {
        unlock();
      }
    } catch (error) {
      const message = describeError(error);
      const record = ctx.records.update(spec.name, (previous) => ({
        ...previous,
        lastFailure: { at: new Date().toISOString(), error: message },
        consecutiveFailures: (previous.consecutiveFailures ?? 0) + 1,
      }));
      certLog.error('renewal.failed', { error: message, consecutiveFailures: record.consecutiveFailures });
      outcomes.push({ name: spec.name, result: options.signal?.aborted ? 'cancelled' : 'failed', decision, error: message });
    }
  }
  const count = (result: CertificateOutcome['result']) => outcomes.filter((outcome) => outcome.result === result).length;
  log.info('pass.finished', {
    durationMs: Date.now() - started,
    renewed: count('renewed'),
    unchanged: count('unchanged'),
    failed: count('failed'),
    busy: count('busy'),
    cancelled: count('cancelled'),
  });
  return outcomes;
}

export function decideFor(spec: CertificateSpec, observation: Observation, now: Date, force?: boolean): Decision {
  return decide({
    desired: { domains: spec.domains, keyType: spec.keyType, regions: spec.acm.map((target) => target.region) },
    observed: observation.regions,
    now,
    force,
  });
}

/** Records left by a run that died mid-renewal (SIGKILL, crash): removed before anything else. */
async function cleanUpOrphanedChallenges(ctx: AgentContext, log: AgentContext['log']): Promise<void> {
  for (const { entry, forget } of ctx.journal.orphans()) {
    try {
      await ctx.solver.cleanup(entry.records, log.child({ certificate: entry.certificate }));
      forget();
      log.info('dns.challenge.orphans_cleaned', { certificate: entry.certificate, previousRunId: entry.runId, records: entry.records.map((r) => r.name) });
    } catch (error) {
      log.error('dns.challenge.cleanup_failed', { certificate: entry.certificate, previousRunId: entry.runId, error: describeError(error) });
    }
  }
}
