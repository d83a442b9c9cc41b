import type { Listener } from '@aws-sdk/client-elastic-load-balancing-v2';
import { acmeDirectory } from '../acme/directory.js';
import type { AgentContext, PassScope } from '../agent/context.js';
import { buildIamPolicy, normaliseRecordName, zoneGrants, type ChallengeRoute } from '../aws/iam-policy.js';
import type { AcmTargetSpec, CertificateSpec, KeyType } from '../config/schema.js';
import { reimportProblems, type Usages } from '../pki/usages.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import type { IamDenial } from './iam-simulation.js';

/**
 * The preflight: what can be checked before an ACME order is spent (Let's Encrypt allows 5 duplicate
 * certificates a week and counts failed validations). Reads only; the same checks back the pass (a
 * failure stops that certificate before its order), `certkeeper doctor`, and `status`/`plan` reasons.
 */

/** One line of the checklist: what was checked, and the fix when it failed. */
export interface PreflightCheck {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
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
export async function preflight(spec: CertificateSpec, ctx: AgentContext, scope: PassScope, log: AuditLogger): Promise<void> {
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
export async function preflightChecks(spec: CertificateSpec, ctx: AgentContext, scope: PassScope, log: AuditLogger, options: PreflightOptions = { account: false, iam: true }): Promise<PreflightCheck[]> {
  const cache = passCache(scope);
  const at = `certificates[${Math.max(0, ctx.config.certificates.findIndex((entry) => entry.name === spec.name))}]`;
  const routes = new Map<string, ChallengeRoute>();
  const [ca, zones, targets] = await Promise.all([
    options.account ? (cache.account ??= checkCa(ctx, log, true)) : (cache.directory ??= checkCa(ctx, log, false)),
    checkZones(spec, scope, at, routes, log),
    Promise.all(spec.acm.map((target, index) => checkTarget(spec, target, at, `${at}.acm[${index}]`, scope))),
  ]);
  // After the zones: their IDs make the Route 53 resources exact.
  const iam = options.iam ? await checkIam(spec, ctx, cache, routes, log) : [];
  return [ca, ...zones, ...targets.flat(), ...iam];
}

/**
 * What would stop a renewal, in words, for `status` and `plan` reasons: the failed checks other than
 * the zones, which the assessment already reports, and other than IAM's (`doctor` and the renewal ask it).
 */
export async function preflightProblems(spec: CertificateSpec, ctx: AgentContext, scope: PassScope, log: AuditLogger): Promise<string[]> {
  return (await preflightChecks(spec, ctx, scope, log, { account: false, iam: false }))
    .filter((check) => !check.ok && check.check !== 'zone')
    .map((check) => (check.fix ? `${check.detail}: ${check.fix}` : check.detail));
}

/** What many certificates of one pass share: the CA, IAM answers. Zones, ACM and listeners are cached by the pass scope itself. */
interface PassCache {
  account?: Promise<PreflightCheck>;
  directory?: Promise<PreflightCheck>;
  iam: Map<string, Promise<IamDenial[]>>;
}

const passCaches = new WeakMap<PassScope, PassCache>();

function passCache(scope: PassScope): PassCache {
  let cache = passCaches.get(scope);
  if (!cache) passCaches.set(scope, (cache = { iam: new Map() }));
  return cache;
}

/** The CA answers (its directory) and knows the account (registered, or found again by its key). */
async function checkCa(ctx: AgentContext, log: AuditLogger, account: boolean): Promise<PreflightCheck> {
  const url = ctx.config.acme.directoryUrl;
  try {
    await acmeDirectory(url);
    if (!account) return { check: 'ca', ok: true, detail: `the CA at ${url} answers (its directory; the ACME account is checked before each order)` };
    const client = await ctx.acmeClient(log);
    return { check: 'ca', ok: true, detail: `the CA at ${url} answers and the ACME account ${client.getAccountUrl()} is valid` };
  } catch (error) {
    return {
      check: 'ca',
      ok: false,
      // Most causes name the URL already ("cannot read the ACME directory URL: …"): once is enough.
      detail: describeError(error).includes(url) ? describeError(error) : `the CA at ${url} cannot be used: ${describeError(error)}`,
      fix: 'check acme.directoryUrl, that this machine reaches it over HTTPS (proxy, firewall, acme.caCertificates), and the account settings (acme.email, acme.eab); or wait until the CA is back',
    };
  }
}

/** For every challenge name: its zone is found and readable, delegation followed (the challenge solver's check). */
async function checkZones(spec: CertificateSpec, scope: PassScope, at: string, routes: Map<string, ChallengeRoute>, log: AuditLogger): Promise<PreflightCheck[]> {
  const checks = await scope.challenges.check(spec, log, { configPath: at });
  return checks.map(({ name, ok, detail, fix, destination }) => {
    if (destination) {
      const { recordName, zoneId, roleArn, externalId } = destination;
      routes.set(normaliseRecordName(name), { name: normaliseRecordName(recordName), zones: [{ hostedZoneId: zoneId, ...(roleArn && { roleArn, externalId }) }] });
    }
    return { check: 'zone', ok, detail, ...(fix && { fix }) };
  });
}

/** A configured certificateArn exists and can be re-imported; each listener exists, is HTTPS/TLS, in the target's region. */
async function checkTarget(spec: CertificateSpec, target: AcmTargetSpec, certificateAt: string, at: string, scope: PassScope): Promise<PreflightCheck[]> {
  const checks: Promise<PreflightCheck>[] = target.listeners.map((listener, index) => checkListener(listener.arn, target.region, `${at}.listeners[${index}]`, scope));
  if (target.certificateArn) checks.unshift(checkCertificateArn(spec, target.certificateArn, target.region, certificateAt, `${at}.certificateArn`, scope));
  return Promise.all(checks);
}

async function checkListener(arn: string, region: string, at: string, scope: PassScope): Promise<PreflightCheck> {
  const arnRegion = arn.split(':')[3];
  if (arnRegion !== region) {
    return { check: 'listener', ok: false, detail: `listener ${arn} is in ${arnRegion}, not in ${region}`, fix: `check ${at}: put it under an acm entry for ${arnRegion}` };
  }
  let found: Listener | undefined;
  try {
    found = await scope.listeners(region).describe(arn);
  } catch (error) {
    if (!/^ListenerNotFound/.test((error as Error).name)) {
      return { check: 'listener', ok: false, detail: `listener ${arn} cannot be read in ${region}: ${describeError(error)}`, fix: 'allow elasticloadbalancing:DescribeListeners (see `certkeeper iam-policy`)' };
    }
  }
  if (!found) {
    return { check: 'listener', ok: false, detail: `listener ${arn} not found in ${region}`, fix: `check ${at}: the ARN of an existing listener, in the region of its load balancer` };
  }
  if (found.Protocol !== 'HTTPS' && found.Protocol !== 'TLS') {
    return {
      check: 'listener',
      ok: false,
      detail: `listener ${arn} is ${found.Protocol ?? 'of no protocol'} on port ${found.Port ?? '?'}, not HTTPS or TLS: it cannot serve a certificate`,
      fix: `check ${at}: name the load balancer's HTTPS (ALB) or TLS (NLB) listener`,
    };
  }
  return { check: 'listener', ok: true, detail: `listener ${arn} exists in ${region} and is ${found.Protocol} on port ${found.Port}` };
}

async function checkCertificateArn(spec: CertificateSpec, arn: string, region: string, certificateAt: string, at: string, scope: PassScope): Promise<PreflightCheck> {
  let found: Awaited<ReturnType<ReturnType<PassScope['acm']>['get']>>;
  try {
    found = await scope.acm(region).get(arn);
  } catch (error) {
    return { check: 'certificateArn', ok: false, detail: `ACM certificate ${arn} cannot be read: ${describeError(error)}`, fix: 'allow acm:GetCertificate (see `certkeeper iam-policy`)' };
  }
  if (!found) {
    return { check: 'certificateArn', ok: false, detail: `ACM certificate ${arn} not found in ${region}`, fix: `check ${at}, or remove it to let certkeeper import (and tag) a certificate of its own` };
  }
  const problems = reimportProblems(found.facts, { keyType: spec.keyType, usages: orderedUsages(spec.keyType) });
  if (problems.length > 0) {
    return {
      check: 'certificateArn',
      ok: false,
      detail: `ACM certificate ${arn} cannot be re-imported: ${problems.join('; ')}`,
      fix: `set ${certificateAt}.keyType to match it${found.facts.keyType === 'other' ? '' : ` ("${found.facts.keyType}")`}, or remove ${at} to import a new certificate`,
    };
  }
  return { check: 'certificateArn', ok: true, detail: `ACM certificate ${arn} exists in ${region} and can be re-imported (${spec.keyType})` };
}

/** What a public CA puts in a server certificate (Let's Encrypt: keyEncipherment only for RSA; serverAuth only). */
function orderedUsages(keyType: KeyType): Usages {
  return { keyUsages: ['digitalSignature', ...(keyType.startsWith('rsa') ? ['keyEncipherment'] : [])].sort(), extendedKeyUsages: ['serverAuth'] };
}

/** Every call the renewal makes, allowed for its exact resources (where the credentials may simulate). */
async function checkIam(spec: CertificateSpec, ctx: AgentContext, cache: PassCache, routes: Map<string, ChallengeRoute>, log: AuditLogger): Promise<PreflightCheck[]> {
  const config = { ...ctx.config, certificates: [spec] };
  const { policy } = buildIamPolicy(config, zoneGrants(config, routes));
  const verdict = await ctx.iamSimulator.simulate(policy.Statement, cache.iam, log);
  if (!verdict.available) return [{ check: 'iam', ok: true, detail: `permissions not simulated (iam:SimulatePrincipalPolicy unavailable: ${verdict.why})` }];
  if (verdict.denied.length === 0) return [{ check: 'iam', ok: true, detail: `IAM allows all ${policy.Statement.reduce((count, statement) => count + statement.Action.length, 0)} actions the renewal makes, on their resources` }];
  return verdict.denied.map((denial) => ({
    check: 'iam',
    ok: false,
    detail: `IAM denies ${denial.action} on ${denial.resource} (${denial.decision})`,
    fix: `allow it as statement "${denial.sid}" of \`certkeeper iam-policy\` does`,
  }));
}
