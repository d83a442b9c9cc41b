import type { Issuer } from '../ports/issuer.js';
import type { ResolvedConfig } from '../config/schema.js';
import type { ChallengeSession } from '../ports/challenge-solver.js';
import type { DeployerPass } from '../ports/deployer.js';
import type { IamSimulator } from './iam-simulation.js';
import { buildIamPolicy, normaliseRecordName, zoneGrants, type ChallengeRoute } from '../aws/iam-policy.js';
import type { CertificateSpec } from '../config/schema.js';
import type { PreflightCheck } from '../ports/preflight-check.js';
import type { AuditLogger } from '../telemetry/logger.js';
import type { IamDenial } from './iam-simulation.js';

/**
 * The preflight: what can be checked before an ACME order is spent (Let's Encrypt allows 5 duplicate
 * certificates a week and counts failed validations). Reads only; the same checks back the pass (a
 * failure stops that certificate before its order), `certkeeper doctor`, and `status`/`plan` reasons.
 */

export type { PreflightCheck };

/** What the preflight needs of the agent (its ports): the config, the CA, IAM's simulation (absent: not simulated). */
export interface PreflightContext {
  readonly config: ResolvedConfig;
  readonly issuer: Pick<Issuer, 'check'>;
  readonly iamSimulator?: IamSimulator;
}

/** What it reads through the pass (PassScope has it), cached for the pass: the challenge session (names), and the deployers (targets). */
export interface PreflightScope {
  challenges: ChallengeSession;
  deployers: DeployerPass[];
}

/** A certificate's preflight failed: counted as a failed renewal, before any order. */
export class PreflightFailedError extends Error {
  override name = 'PreflightFailedError';
  constructor(readonly failed: PreflightCheck[]) {
    super(`${failed.map((check) => `${check.detail}${check.fix ? `: ${check.fix}` : ''}`).join('; ')}`);
  }
}

/**
 * Runs the preflight before a renewal orders: logs `preflight.failed` and throws PreflightFailedError
 * when a check fails, so the pass records it exactly as a failed renewal.
 */
export async function preflight(spec: CertificateSpec, ctx: PreflightContext, scope: PreflightScope, log: AuditLogger): Promise<void> {
  const failed = (await preflightChecks(spec, ctx, scope, log, { account: true, iam: true })).filter((check) => !check.ok);
  if (failed.length === 0) return;
  log.error('preflight.failed', { checks: failed.map(({ check, detail, fix }) => ({ check, detail, fix: fix ?? null })) });
  throw new PreflightFailedError(failed);
}

export interface PreflightOptions {
  /**
   * Also register or fetch the ACME account (before an order, which does so anyway). Without it the CA
   * is checked by its directory only: `doctor`, `status` and `plan` change nothing, not even a first
   * account key in stateDir.
   */
  account: boolean;
  /**
   * Also simulate the renewal's IAM permissions: several IAM calls per certificate, worth it before an
   * order and in `doctor`, not in every `status` of a large fleet (IAM's own rate limits).
   */
  iam: boolean;
}

/** Every check for one certificate, passed or not, in a stable order. */
export async function preflightChecks(
  spec: CertificateSpec,
  ctx: PreflightContext,
  scope: PreflightScope,
  log: AuditLogger,
  options: PreflightOptions = { account: false, iam: true },
): Promise<PreflightCheck[]> {
  const cache = passCache(scope);
  const at = `certificates[${Math.max(
    0,
    ctx.config.certificates.findIndex((entry) => entry.name === spec.name),
  )}]`;
  const routes = new Map<string, ChallengeRoute>();
  const [ca, zones, targets] = await Promise.all([
    options.account ? (cache.account ??= ctx.issuer.check(log, { account: true })) : (cache.directory ??= ctx.issuer.check(log, { account: false })),
    checkZones(spec, scope, at, routes, log),
    // What is about targets (listeners, distributions, configured ARNs) is the deployers' to check.
    Promise.all(scope.deployers.map((deployer) => deployer.preflight(spec, at))),
  ]);
  // After the zones: their IDs make the Route 53 resources exact.
  const iam = options.iam ? await checkIam(spec, ctx, cache, routes, log) : [];
  return [ca, ...zones, ...targets.flat(), ...iam];
}

/**
 * What would stop a renewal, in words, for `status` and `plan` reasons: the failed checks other than
 * the zones, which the assessment already reports, and other than IAM's (`doctor` and the renewal ask it).
 */
export async function preflightProblems(spec: CertificateSpec, ctx: PreflightContext, scope: PreflightScope, log: AuditLogger): Promise<string[]> {
  return (await preflightChecks(spec, ctx, scope, log, { account: false, iam: false }))
    .filter((check) => !check.ok && check.check !== 'zone')
    .map((check) => (check.fix ? `${check.detail}: ${check.fix}` : check.detail));
}

/** What many certificates of one pass share: the CA, IAM answers. Zones and the deployers' reads are cached by the pass scope itself. */
interface PassCache {
  account?: Promise<PreflightCheck>;
  directory?: Promise<PreflightCheck>;
  iam: Map<string, Promise<IamDenial[]>>;
}

const passCaches = new WeakMap<PreflightScope, PassCache>();

function passCache(scope: PreflightScope): PassCache {
  let cache = passCaches.get(scope);
  if (!cache) passCaches.set(scope, (cache = { iam: new Map() }));
  return cache;
}

/** For every challenge name: its zone is found and readable, delegation followed (the challenge solver's check). */
async function checkZones(spec: CertificateSpec, scope: PreflightScope, at: string, routes: Map<string, ChallengeRoute>, log: AuditLogger): Promise<PreflightCheck[]> {
  const checks = await scope.challenges.check(spec, log, { configPath: at });
  return checks.map(({ name, ok, detail, fix, destination }) => {
    if (destination) {
      const { recordName, zoneId, roleArn, externalId } = destination;
      routes.set(normaliseRecordName(name), { name: normaliseRecordName(recordName), zones: [{ hostedZoneId: zoneId, ...(roleArn && { roleArn, externalId }) }] });
    }
    return { check: 'zone', ok, detail, ...(fix && { fix }) };
  });
}

/** Every call the renewal makes, allowed for its exact resources (where the credentials may simulate). */
async function checkIam(spec: CertificateSpec, ctx: PreflightContext, cache: PassCache, routes: Map<string, ChallengeRoute>, log: AuditLogger): Promise<PreflightCheck[]> {
  const config = { ...ctx.config, certificates: [spec] };
  const { policy } = buildIamPolicy(config, zoneGrants(config, routes));
  if (!ctx.iamSimulator) return [{ check: 'iam', ok: true, detail: 'permissions not simulated (no IAM simulation configured)' }];
  const verdict = await ctx.iamSimulator.simulate(policy.Statement, cache.iam, log);
  if (!verdict.available) return [{ check: 'iam', ok: true, detail: `permissions not simulated (iam:SimulatePrincipalPolicy unavailable: ${verdict.why})` }];
  if (verdict.denied.length === 0)
    return [
      {
        check: 'iam',
        ok: true,
        detail: `IAM allows all ${policy.Statement.reduce((count, statement) => count + statement.Action.length, 0)} actions the renewal makes, on their resources`,
      },
    ];
  return verdict.denied.map((denial) => ({
    check: 'iam',
    ok: false,
    detail: `IAM denies ${denial.action} on ${denial.resource} (${denial.decision})`,
    fix: `allow it as statement "${denial.sid}" of \`certkeeper iam-policy\` does`,
  }));
}
