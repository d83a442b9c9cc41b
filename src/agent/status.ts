import { Check, checksAndReasons, found, type CheckName } from '../policy/checks.js';
import { earliestExpiring } from '../policy/decide.js';
import { daysLeft } from '../pki/certificate.js';
import { describeError } from '../telemetry/logger.js';
import { assessCertificate } from './assess.js';
import type { AttachmentObservation, ListenerObservation } from '../ports/deployer.js';
import type { AgentPorts } from './ports.js';
import { openPassScope } from './pass-scope.js';
import { selectCertificates } from './pass.js';
import { mapWithConcurrency } from '../util/map-with-concurrency.js';
import { preflightProblems } from '../preflight/preflight.js';

// Status only reads (cached AWS listings, the CA's ARI, TLS probes of `verify` endpoints): bounded so a
// fleet of a thousand does not open a thousand connections to the CA at once.
const STATUS_CONCURRENCY = 64;

/** One row of `certkeeper status` / `plan`; the JSON field names are a contract. */
export interface StatusRow {
  name: string;
  domains: string[];
  serial: string | null;
  /** Validity of the deployed certificate that expires first (the one the decision is about). */
  notBefore: string | null;
  notAfter: string | null;
  daysLeft: number | null;
  /**
   * Where it is deployed; `listeners` (when any): the configured listeners and whether each serves it;
   * `attachments` (when any): the places other than listeners that should use it (CloudFront distributions) and whether each does.
   */
  acm: { region: string; certificateArn: string | null; listeners?: ListenerObservation[]; attachments?: AttachmentObservation[] }[];
  action: 'renew' | 'redeploy' | 'none';
  reasons: string[];
  /** Names of the checks behind the reasons (e.g. `InRenewalWindow`, `Backoff`). */
  checks: CheckName[];
  /** When certkeeper will renew if nothing changes (now when `action` is `renew`). */
  renewAt: string | null;
  /** The renewal window in force: the CA's (ARI) or certkeeper's backstop rule. */
  window: { source: 'ari' | 'backstop'; start: string; end: string } | null;
  ari: { status: string; start?: string; end?: string; chosenAt?: string; note?: string; nextCheckAt?: string };
  /** Failed attempts in a row now (0 once the certificate is valid, served and not due again). */
  consecutiveFailures: number;
  /** The last renewal this agent (or another sharing its store) recorded. */
  lastRenewal: { at: string; serial: string; notAfter: string } | null;
  /** The last failure and when, kept as history after a recovery. */
  lastError: string | null;
  lastErrorAt: string | null;
  /** When the next attempt may start after failures (backoff), if later than now. */
  nextAttemptAt: string | null;
  /** What each `verify` endpoint serves, and whether it matches the deployed certificate. */
  served: { endpoint: string; serial?: string; notAfter?: string; matches: boolean; error?: string }[];
  /** Who holds the certificate's lock now (renewing it, or wedged), and whether the lock still counts. */
  lock: { holder: string; host: string; pid: number; since: string; ageSeconds: number; expiresAt: string; live: boolean; why: string } | null;
  /** Set when AWS could not be read for this certificate, or when a renewal could not even start (e.g. no hosted zone). */
  error?: string;
}

/** What is deployed and what the agent would do now, read from AWS and the CA; renews nothing. */
export async function collectStatus(ctx: AgentPorts, names: string[] = [], now = ctx.clock.now(), scope = openPassScope(ctx)): Promise<StatusRow[]> {
  const log = ctx.log.child({ command: 'status' });
  return mapWithConcurrency(selectCertificates(ctx.config.certificates, names), STATUS_CONCURRENCY, async (spec): Promise<StatusRow> => {
    const base = { name: spec.name, domains: spec.domains, lock: await lockOf(ctx, spec.name, now) };
    try {
      const certificateLog = log.child({ certificate: spec.name });
      const assessment = await assessCertificate(spec, ctx, scope, now, certificateLog);
      const { observation, decision, record, ari, served } = assessment;
      // What the preflight would stop a renewal for (listeners, configured ARNs, the CA, IAM): reads, cached per call.
      const problems = [...assessment.problems, ...(await preflightProblems(spec, ctx, scope, certificateLog))];
      const soonest = earliestExpiring(observation.regions);
      const backoff = found(decision.findings, Check.Backoff) ? decision.renewAt : null;
      const { checks, reasons } = checksAndReasons(decision.findings);
      return {
        ...base,
        serial: soonest?.serial ?? null,
        notBefore: soonest?.notBefore.toISOString() ?? null,
        notAfter: soonest?.notAfter.toISOString() ?? null,
        daysLeft: soonest ? Math.floor(daysLeft(soonest.notAfter, now) * 10) / 10 : null,
        acm: observation.regions.map((region) => ({
          region: region.region,
          certificateArn: region.certificateArn ?? null,
          ...(region.listeners?.length ? { listeners: region.listeners } : {}),
          ...(region.attachments && { attachments: region.attachments }),
        })),
        action: decision.action,
        reasons: [...problems.map((problem) => `cannot renew: ${problem}`), ...reasons],
        checks,
        renewAt: decision.renewAt?.toISOString() ?? null,
        window: decision.plan ? { source: decision.plan.source, start: decision.plan.windowStart.toISOString(), end: decision.plan.windowEnd.toISOString() } : null,
        ari: {
          status: ari.status,
          start: ari.window?.start.toISOString(),
          end: ari.window?.end.toISOString(),
          chosenAt: ari.window?.chosenAt.toISOString(),
          note: ari.note,
          nextCheckAt: ari.nextCheckAt,
        },
        consecutiveFailures: record.consecutiveFailures ?? 0,
        lastRenewal: record.lastSuccess ?? null,
        lastError: record.lastFailure?.error ?? null,
        lastErrorAt: record.lastFailure?.at ?? null,
        nextAttemptAt: backoff?.toISOString() ?? null,
        served,
        ...(problems.length > 0 && { error: problems.join('; ') }),
      };
    } catch (error) {
      return {
        ...base,
        serial: null,
        notBefore: null,
        notAfter: null,
        daysLeft: null,
        acm: spec.acm.map((target) => ({ region: target.region, certificateArn: target.certificateArn ?? null })),
        action: 'none',
        reasons: [`cannot read what is deployed, so nothing can be done: ${describeError(error)}`],
        checks: [Check.ObservationFailed],
        renewAt: null,
        window: null,
        ari: { status: 'unknown' },
        consecutiveFailures: 0,
        lastRenewal: null,
        lastError: null,
        lastErrorAt: null,
        nextAttemptAt: null,
        served: [],
        error: describeError(error),
      };
    }
  });
}

/** The certificate's lock as status shows it; a store that cannot be read says so in `why`. */
async function lockOf(ctx: AgentPorts, name: string, now: Date): Promise<StatusRow['lock']> {
  try {
    const held = await ctx.store.state.readLease(name);
    if (!held) return null;
    const { holder, since, expiresAt, live, why } = held;
    return { holder: holder.id, host: holder.host, pid: holder.pid, since, ageSeconds: Math.round((now.getTime() - Date.parse(since)) / 1000), expiresAt, live, why };
  } catch (error) {
    return {
      holder: '(unreadable)',
      host: '(unreadable)',
      pid: 0,
      since: now.toISOString(),
      ageSeconds: 0,
      expiresAt: now.toISOString(),
      live: false,
      why: `cannot read the lock: ${describeError(error)}`,
    };
  }
}
