import type { CertificateSpec } from '../config/schema.js';
import { decide, earliestExpiring, type AriWindow, type Decision } from '../policy/decide.js';
import { CLOCK_TOLERANCE_MS, identifierSetKey, rateLimitBlocks, rateLimitPolicy } from '../policy/rate-limits.js';
import { servesDeployed } from '../policy/readiness.js';
import { pickMomentIn } from '../policy/renewal-time.js';
import type { CertificateRecord } from '../store/certificate-records.js';
import { describeEndpoint, probeServedCertificate } from '../targets/served-certificate.js';
import { describeError, type AuditLogger } from '../telemetry/logger.js';
import type { AgentPorts } from './ports.js';
import type { PassScope } from './pass-scope.js';
import { keptToDeploy } from './kept-issued.js';
import { observeDeployments, type DeployedNow } from './deployments.js';

/** Everything known about one certificate at one moment, and what to do about it. */
export interface Assessment {
  /** What is deployed, as every deployer sees it. */
  observation: DeployedNow;
  decision: Decision;
  record: CertificateRecord;
  /** RFC 9773 ID of the deployed certificate, sent as `replaces` when the CA speaks ARI. */
  replaces?: string;
  ari: { status: 'window' | 'unavailable' | 'not-offered' | 'nothing-deployed'; window?: AriWindow; note?: string; nextCheckAt?: string };
  /** What would make a renewal fail before it starts (e.g. a domain without a Route 53 hosted zone). */
  problems: string[];
  /** A certificate an interrupted run had issued, to be deployed without a new order. */
  issued?: { serial: string; notAfter: Date };
  /** What each `verify` endpoint serves now, and whether it is the deployed certificate. */
  served: { endpoint: string; serial?: string; notAfter?: string; matches: boolean; error?: string }[];
}

export interface AssessOptions {
  force?: boolean;
  ignoreRateLimits?: boolean;
  /**
   * What else to look at besides the decision (default both): what the `verify` endpoints serve (TLS
   * probes) and whether every challenge name has a hosted zone. The second look after taking the lease
   * needs neither; a pass's first look needs only the probes.
   */
  look?: { served?: boolean; zones?: boolean };
}

// Ask again when the CA's Retry-After says, but at least twice a day; after a failure, in 15 minutes.
// No lower bound is needed: only passes ask, and they come on the schedule or at planned renewals.
const MAX_ARI_RECHECK_MS = 12 * 3_600_000;
const ARI_FAILURE_RECHECK_MS = 15 * 60_000;

/** A stored next-check time further ahead than it could have been set (a clock that ran ahead) is not believed: ask now. */
function believableCheck(nextCheckAt: string, longestMs: number, now: Date): boolean {
  const at = new Date(nextCheckAt).getTime();
  return at > now.getTime() && at <= now.getTime() + longestMs + CLOCK_TOLERANCE_MS;
}

/** Observe (ACM, the CA's renewal information, the agent's records), then decide. Reads only. */
export async function assessCertificate(spec: CertificateSpec, ctx: AgentPorts, scope: PassScope, now: Date, log: AuditLogger, options: AssessOptions = {}): Promise<Assessment> {
  const record = (await ctx.store.records.get(spec.name)) ?? {};
  const observation = await observeDeployments(scope.deployers, spec, record.acm);
  const deployed = earliestExpiring(observation.regions);
  const ari = deployed?.ariCertId ? await renewalWindow(spec.name, record, deployed.ariCertId, ctx, now, log) : { status: 'nothing-deployed' as const };
  const replaces = ari.status === 'window' || ari.status === 'unavailable' ? deployed?.ariCertId : undefined;
  // Only the renewal, under the lease, deletes a kept certificate it cannot use; one in ACM everywhere goes at any look.
  const kept = await keptToDeploy(spec, observation.regions, ctx.store.issued, ctx.config.acme.directoryUrl, log, { discardUnusable: false, now });
  const issued = kept && { serial: kept.issued.facts.serial, notAfter: kept.issued.facts.notAfter };
  // What the `verify` endpoints serve is part of the decision: deployed but not served is failing.
  const look = { served: true, zones: true, ...options.look };
  const served = await Promise.all(
    (look.served ? spec.verify : []).map(async (endpoint) => {
      try {
        const found = await probeServedCertificate(endpoint);
        return { endpoint: describeEndpoint(endpoint), serial: found.serial, notAfter: found.notAfter.toISOString(), matches: servesDeployed(found, deployed?.serial) };
      } catch (error) {
        return { endpoint: describeEndpoint(endpoint), matches: false, error: describeError(error) };
      }
    }),
  );
  const decision = decide({
    desired: { domains: spec.domains, keyType: spec.keyType, regions: spec.acm.map((target) => target.region), renewBefore: spec.renewBefore },
    observed: observation.regions,
    now,
    force: options.force,
    ignoreRateLimits: options.ignoreRateLimits,
    ari: ari.window,
    issued,
    history: {
      consecutiveFailures: record.consecutiveFailures ?? 0,
      lastFailureAt: record.lastFailure ? new Date(record.lastFailure.at) : undefined,
    },
    rateLimits: rateLimitBlocks(
      await ctx.store.rateLimits.get(),
      rateLimitPolicy(ctx.config.acme.rateLimits, ctx.config.acme.directoryUrl),
      // Let's Encrypt counts an order for exactly the names of the deployed certificate as a renewal.
      {
        domains: spec.domains,
        willReplace: replaces !== undefined,
        renewsSameNames: deployed !== undefined && identifierSetKey(deployed.domains) === identifierSetKey(spec.domains),
      },
      now,
    ),
    served,
  });
  // A domain without a hosted zone is a config problem: say so now, not at renewal time (zones only: a
  // delegation lookup per name would cost a fleet's status one Route 53 request per name).
  const problems = look.zones ? (await scope.challenges.check(spec, log, { quick: true })).filter((check) => !check.ok).map((check) => check.detail) : [];
  return { observation, decision, record, replaces, ari, served, problems, ...(issued && { issued }) };
}

/**
 * The CA's suggested window for the deployed certificate: asked again when the CA's Retry-After has
 * passed (at least twice a day), and the random moment in it kept until the window itself changes.
 */
async function renewalWindow(name: string, record: CertificateRecord, certId: string, ctx: AgentPorts, now: Date, log: AuditLogger): Promise<Assessment['ari']> {
  const stored = record.ari?.certId === certId ? record.ari : undefined;
  const storedWindow = stored && { start: new Date(stored.start), end: new Date(stored.end), chosenAt: new Date(stored.chosenAt), explanationURL: stored.explanationURL };
  if (stored && believableCheck(stored.nextCheckAt, MAX_ARI_RECHECK_MS, now)) return { status: 'window', window: storedWindow, nextCheckAt: stored.nextCheckAt };
  const unavailable = record.ariUnavailable?.certId === certId ? record.ariUnavailable : undefined;
  if (unavailable && believableCheck(unavailable.nextCheckAt, ARI_FAILURE_RECHECK_MS, now)) {
    return { status: storedWindow ? 'window' : 'unavailable', window: storedWindow, note: unavailable.error, nextCheckAt: unavailable.nextCheckAt };
  }

  let info: Awaited<ReturnType<AgentPorts['issuer']['renewalInfo']>>;
  try {
    info = await ctx.issuer.renewalInfo(certId);
  } catch (error) {
    return await markUnavailable(name, certId, describeError(error), storedWindow, ctx, now, log);
  }
  if (!info) return { status: 'not-offered', note: 'the CA does not offer renewal information (no renewalInfo in its directory)' };

  try {
    const sameWindow = storedWindow && storedWindow.start.getTime() === info.start.getTime() && storedWindow.end.getTime() === info.end.getTime();
    const chosenAt = sameWindow ? storedWindow.chosenAt : pickMomentIn(info);
    const recheckMs = Math.min(MAX_ARI_RECHECK_MS, (info.retryAfterSeconds ?? 6 * 3600) * 1000);
    const nextCheckAt = new Date(now.getTime() + recheckMs).toISOString();
    await ctx.store.records.update(name, ({ ariUnavailable: _cleared, ...rest }) => ({
      ...rest,
      ari: {
        certId,
        start: info.start.toISOString(),
        end: info.end.toISOString(),
        chosenAt: chosenAt.toISOString(),
        explanationURL: info.explanationURL,
        checkedAt: now.toISOString(),
        nextCheckAt,
      },
    }));
    if (!sameWindow) {
      log.info('ari.window', {
        certId,
        start: info.start.toISOString(),
        end: info.end.toISOString(),
        chosenAt: chosenAt.toISOString(),
        previousWindow: storedWindow ? { start: storedWindow.start.toISOString(), end: storedWindow.end.toISOString() } : null,
        explanationURL: info.explanationURL ?? null,
        retryAfterSeconds: info.retryAfterSeconds ?? null,
      });
    }
    return { status: 'window', window: { start: info.start, end: info.end, chosenAt, explanationURL: info.explanationURL }, nextCheckAt };
  } catch (error) {
    return await markUnavailable(name, certId, describeError(error), storedWindow, ctx, now, log);
  }
}

/** No answer: the last window the CA gave for this certificate still holds; without one, the backstop rule. */
async function markUnavailable(
  name: string,
  certId: string,
  error: string,
  storedWindow: AriWindow | undefined,
  ctx: AgentPorts,
  now: Date,
  log: AuditLogger,
): Promise<Assessment['ari']> {
  const nextCheckAt = new Date(now.getTime() + ARI_FAILURE_RECHECK_MS).toISOString();
  await ctx.store.records.update(name, (record) => ({ ...record, ariUnavailable: { certId, error, at: now.toISOString(), nextCheckAt } }));
  log.warn('ari.unavailable', { certId, error, nextCheckAt, using: storedWindow ? 'the last window the CA gave' : 'the backstop rule' });
  return { status: storedWindow ? 'window' : 'unavailable', window: storedWindow, note: error, nextCheckAt };
}
