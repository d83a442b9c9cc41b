import type { IssuedCertificate } from '../pki/issued-certificate.js';
import type { ChallengeParticipant } from '../ports/challenge-solver.js';
import type { CertificateSpec } from '../config/schema.js';
import type { Assessment } from './assess.js';
import type { CertificateFacts } from '../pki/certificate.js';
import { earliestExpiring } from '../policy/decide.js';
import type { Deployment, Retirement } from '../ports/deployer.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import { describeEndpoint, waitUntilServed } from '../targets/served-certificate.js';
import type { AgentPorts } from './ports.js';
import type { PassScope } from './pass-scope.js';
import { renewalDeadlineMs, withinRenewalDeadline } from './deadlines.js';
import { keptToDeploy } from './kept-issued.js';
import { deployEverywhere, redeployEverywhere, type DeployedNow } from './deployments.js';

export type { Deployment };

export interface Renewed {
  deployments: Deployment[];
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * One renewal: order over ACME (DNS-01 on Route 53), then every deployer installs it (ACM in every
 * configured region, and the places there). The certificate already deployed is replaced only by a
 * re-import or a move to a certificate that is already imported, so a failure at any step leaves it serving.
 *
 * It has a deadline (`renewalDeadlineMs`): when that passes, the renewal is cancelled like on SIGTERM
 * (requests to the CA aborted, waits stopped, challenge records removed or left in the journal) and
 * fails saying how long it had and the step it was at, so its lease and its pass are never held for good.
 */
export async function renewCertificate(
  spec: CertificateSpec,
  assessment: Pick<Assessment, 'observation' | 'replaces'>,
  ctx: AgentPorts,
  scope: PassScope,
  log: AuditLogger,
  runId: string,
  signal: AbortSignal,
  challenges: ChallengeParticipant,
): Promise<Renewed> {
  return withinRenewalDeadline(renewalDeadlineMs(ctx.config, spec), signal, (bounded, onStep) =>
    renewWithin(spec, assessment, ctx, scope, log, runId, bounded, challenges, onStep),
  );
}

async function renewWithin(
  spec: CertificateSpec,
  assessment: Pick<Assessment, 'observation' | 'replaces'>,
  ctx: AgentPorts,
  scope: PassScope,
  log: AuditLogger,
  runId: string,
  signal: AbortSignal,
  challenges: ChallengeParticipant,
  onStep: (step: string) => void,
): Promise<Renewed> {
  const { observation } = assessment;
  // Kept (0600 in stateDir, or the key where the account key is) as soon as the CA has issued: a crash or an
  // error from then on costs no new order. Not kept, it is still deployed now.
  const keep = async (issued: IssuedCertificate) => {
    try {
      await ctx.store.issued.keep(spec.name, issued, { directoryUrl: ctx.config.acme.directoryUrl, runId });
      log.info('renewal.issued_kept', { serial: issued.facts.serial, notAfter: issued.facts.notAfter.toISOString(), where: ctx.store.issued.where(spec.name) });
    } catch (error) {
      log.error('renewal.issued_store_failed', {
        action: 'keep',
        where: ctx.store.issued.where(spec.name),
        error: describeError(error),
        why: 'deploying it anyway; a crash before it is deployed would order again',
      });
    }
  };
  let issued: IssuedCertificate;
  // What an interrupted run had issued is deployed instead of ordering again, when it still fits.
  const kept = await keptToDeploy(spec, observation.regions, ctx.store.issued, ctx.config.acme.directoryUrl, log, { discardUnusable: true });
  if (kept) {
    issued = kept.issued;
    // This renewal joins no challenge change of its pass.
    challenges.presentsNothing();
    log.info('renewal.resumed_issued', { serial: issued.facts.serial, notAfter: issued.facts.notAfter.toISOString(), orderUrl: issued.orderUrl, keptAt: kept.keptAt });
  } else {
    issued = await ctx.issuer.issue(spec, { challenges, log, signal, onStep, replaces: assessment.replaces, onIssued: keep });
  }
  signal.throwIfAborted();

  const deployed = await deployEverywhere(scope.deployers, spec, issued, observation, {
    log,
    signal,
    onStep,
    // Recorded before any place moves to it: a crash from then on finds this ARN again.
    onImported: async (region, certificateArn) => {
      await ctx.store.records.update(spec.name, (record) => ({ ...record, acm: { ...record.acm, [region]: certificateArn } }));
    },
  });
  const deployments = deployed.flatMap((entry) => entry.deployments);
  // Only with every place moved and the new certificate served may an old one go.
  signal.throwIfAborted();
  onStep('waiting until the new certificate is served');
  await retireOnceServed(
    spec,
    issued.facts,
    deployed.map((entry) => entry.retirement),
    'the new certificate is not served yet',
    log,
    signal,
  );
  // Deployed and verified: the key is in ACM, the kept copy goes (or, failing that, at the next look).
  await ctx.store.issued.discard(spec.name).catch((error: unknown) => {
    log.error('renewal.issued_store_failed', { action: 'delete', where: ctx.store.issued.where(spec.name), error: describeError(error) });
  });
  return { deployments, serial: issued.facts.serial, notBefore: issued.facts.notBefore, notAfter: issued.facts.notAfter };
}

/**
 * Puts the deployed certificate back where it is no longer used (drift): no order, no import. Leftovers
 * of interrupted runs go once the deployed certificate is served, as after a renewal.
 */
export async function redeployCertificate(spec: CertificateSpec, observation: DeployedNow, scope: PassScope, log: AuditLogger, signal?: AbortSignal): Promise<Deployment[]> {
  const deployed = await redeployEverywhere(scope.deployers, spec, observation, log);
  const deployments = deployed.flatMap((entry) => entry.deployments);
  if (deployed.every((entry) => entry.retirement.pending.length === 0)) return deployments;
  await retireOnceServed(
    spec,
    earliestExpiring(observation.regions),
    deployed.map((entry) => entry.retirement),
    'the deployed certificate is not served yet',
    log,
    signal,
  );
  return deployments;
}

/**
 * Retires what the deployers replaced once every `verify` endpoint serves `expected`: what matters is
 * what the endpoints serve, not what certkeeper believes it deployed. When they do not, the olds are
 * kept, and the error goes up. The wait is here, not in a deployer: the endpoints belong to the
 * certificate, whatever deployers put it where, and one wait covers them all.
 */
async function retireOnceServed(
  spec: CertificateSpec,
  expected: Pick<CertificateFacts, 'serial' | 'notAfter'> | undefined,
  retirements: Retirement[],
  whyKept: string,
  log: AuditLogger,
  signal?: AbortSignal,
): Promise<void> {
  if (spec.verify.length > 0 && expected) {
    // The step that has no other event marking its start (the live progress at a terminal shows it).
    log.debug('deploy.verifying', { endpoints: spec.verify.map(describeEndpoint), serial: expected.serial, timeoutSeconds: spec.verifyTimeoutSeconds });
    try {
      await waitUntilServed(spec.verify, { serial: expected.serial, notAfter: expected.notAfter }, spec.verifyTimeoutSeconds * 1000, signal);
    } catch (error) {
      log.error('deploy.not_served', { error: describeError(error), endpoints: spec.verify.map(describeEndpoint), serial: expected.serial });
      for (const retirement of retirements) retirement.keep(whyKept, log);
      throw error;
    }
    log.info('deploy.verified', { endpoints: spec.verify.map(describeEndpoint), serial: expected.serial });
  }
  for (const retirement of retirements) await retirement.retire(log);
}
