import type { StatusRow } from '../../agent/status.js';
import type { RecentPass } from '../../telemetry/recent-passes.js';
import { formatTime, relative } from './format.js';

/**
 * What the status page shows, built from the rows `status` computes (no policy is decided here: the
 * action, windows, renewal moment and failures are the agent's) plus, for `run`, its recent passes.
 */

/** The state a person reads first. Order of precedence: expired, failing, due, healthy. */
export type CertificateState = 'healthy' | 'due' | 'failing' | 'expired';

export interface TimelineView {
  issued: string;
  expires: string;
  now: string;
  /** The renewal window in force: the CA's (ARI) or certkeeper's backstop rule. */
  window: { source: 'ari' | 'backstop'; start: string; end: string } | null;
  /** When certkeeper will renew if nothing changes (now when it is due). */
  renewAt: string | null;
}

export interface PlaceView {
  /** `listener`, or the deployer's word for the place (`CloudFront distribution`). */
  kind: string;
  id: string;
  /** `default` or `sni` for a listener. */
  role?: string;
  /** Whether the place serves this certificate now; undefined when it could not be read. */
  carries?: boolean;
  error?: string;
}

export interface DeploymentView {
  region: string;
  certificateArn: string | null;
  places: PlaceView[];
}

export interface CertificateView {
  name: string;
  domains: string[];
  state: CertificateState;
  /** One sentence on why this state. */
  stateWhy: string;
  action: StatusRow['action'];
  serial: string | null;
  daysLeft: number | null;
  timeline: TimelineView | null;
  deployments: DeploymentView[];
  lastRenewal: StatusRow['lastRenewal'];
  lastError: { at: string | null; error: string } | null;
  consecutiveFailures: number;
  nextAttemptAt: string | null;
  ari: string;
  reasons: string[];
  served: StatusRow['served'];
}

export interface StatusPageView {
  generatedAt: string;
  version: string;
  /** `report`: a file written once; `run`: the live page of a daemon. */
  source: 'report' | 'run';
  certificates: CertificateView[];
  /** The audit events of the last passes (`run` only: `report` has no audit trail to read). */
  passes: RecentPass[] | null;
}

export function statusPageView(rows: StatusRow[], options: { now: Date; version: string; source: 'report' | 'run'; passes?: RecentPass[] }): StatusPageView {
  return {
    generatedAt: options.now.toISOString(),
    version: options.version,
    source: options.source,
    certificates: rows.map((row) => certificateView(row, options.now)),
    passes: options.source === 'run' ? (options.passes ?? []) : null,
  };
}

function certificateView(row: StatusRow, now: Date): CertificateView {
  const { state, why } = stateOf(row, now);
  return {
    name: row.name,
    domains: row.domains,
    state,
    stateWhy: why,
    action: row.action,
    serial: row.serial,
    daysLeft: row.daysLeft,
    timeline:
      row.notBefore && row.notAfter
        ? { issued: row.notBefore, expires: row.notAfter, now: now.toISOString(), window: row.window, renewAt: row.action === 'renew' ? now.toISOString() : row.renewAt }
        : null,
    deployments: row.acm.map((acm) => ({
      region: acm.region,
      certificateArn: acm.certificateArn,
      places: [
        ...(acm.listeners ?? []).map((listener) => ({ kind: 'listener', id: listener.arn, role: listener.mode, ...placeState(listener) })),
        ...(acm.attachments ?? []).map((attachment) => ({ kind: attachment.kind, id: attachment.id, ...placeState(attachment) })),
      ],
    })),
    lastRenewal: row.lastRenewal,
    lastError: row.lastError ? { at: row.lastErrorAt, error: row.lastError } : row.error ? { at: null, error: row.error } : null,
    consecutiveFailures: row.consecutiveFailures,
    nextAttemptAt: row.nextAttemptAt,
    ari: ariText(row.ari),
    reasons: row.reasons,
    served: row.served,
  };
}

function placeState(place: { carries: boolean; error?: string }): Pick<PlaceView, 'carries' | 'error'> {
  return place.error ? { error: place.error } : { carries: place.carries };
}

/** Precedence: what is already broken for users (expired), then what needs a person (failing), then what certkeeper will do (due). */
export function stateOf(row: StatusRow, now: Date): { state: CertificateState; why: string } {
  if (row.notAfter && Date.parse(row.notAfter) <= now.getTime())
    return { state: 'expired', why: `expired ${relative(row.notAfter, now.toISOString())}, at ${formatTime(row.notAfter)}` };
  if (row.consecutiveFailures > 0) return { state: 'failing', why: `${row.consecutiveFailures} failed attempt${row.consecutiveFailures === 1 ? '' : 's'} in a row` };
  if (row.error) return { state: 'failing', why: row.error };
  if (row.action === 'renew') return { state: 'due', why: row.notAfter ? 'due for renewal now' : 'nothing deployed yet: the next pass issues it' };
  if (row.action === 'redeploy') return { state: 'due', why: 'not served where configured: the next pass puts it back' };
  return { state: 'healthy', why: row.renewAt ? `renewal planned ${relative(row.renewAt, now.toISOString())}, at ${formatTime(row.renewAt)}` : 'nothing to do' };
}

function ariText(ari: StatusRow['ari']): string {
  if (ari.status === 'window') return `window ${ari.start} .. ${ari.end}, chosen moment ${ari.chosenAt}${ari.note ? ` (last check failed: ${ari.note})` : ''}`;
  if (ari.status === 'unavailable') return `unavailable: ${ari.note ?? 'no reason given'}`;
  if (ari.status === 'not-offered') return 'not offered by the CA';
  // As `status` prints it: no ARI look was made (nothing deployed, or not a certificate of this CA).
  return ari.status === 'nothing-deployed' ? '-' : ari.status;
}
