import type { CertificateSpec, ResolvedConfig } from '../config/schema.js';
import { anySignal, deadlineSignal } from '../util/deadline-signal.js';

// A renewal makes about a dozen requests to the CA (account, order, authorizations, challenges, polls,
// finalize, download), each bounded by acme.requestTimeoutSeconds, and polls while the CA validates and
// issues (seconds with a healthy CA): 20 request timeouts (600 s by default) cover that with room.
const CA_REQUEST_TIMEOUTS = 20;
// ACM imports, tags and listener updates: a few calls per region and listener, each bounded by
// aws.requestTimeoutSeconds and retried by the SDK: 10 request timeouts (600 s by default).
const AWS_REQUEST_TIMEOUTS = 10;
// What a pass does besides renewing: the orphaned-records clean-up and the first look at every
// certificate (ACM, listeners, ARI, TLS probes, concurrency at a time), in AWS request timeouts.
const PASS_LOOK_AWS_REQUEST_TIMEOUTS = 10;

/** What of a certificate's config its deadline depends on (`verify` absent: counted as if endpoints were given). */
type DeadlineSpec = Pick<CertificateSpec, 'verifyTimeoutSeconds'> & { verify?: unknown[] };

/** The served-certificate check waits only for a certificate with `verify` endpoints. */
function verifyWaitSeconds(spec: DeadlineSpec): number {
  return spec.verify && spec.verify.length === 0 ? 0 : spec.verifyTimeoutSeconds;
}

/**
 * How long one renewal may take before it is cancelled, cleaned up and reported failed: the configured
 * waits it may go through (INSYNC for the challenge records and again for their clean-up, the
 * propagation check, the served-certificate check) plus what the CA and the deploy may take at their
 * request timeouts. A lock older than this whose holder still looks alive is a wedged renewal, not a busy one.
 */
export function renewalDeadlineMs(config: ResolvedConfig, spec?: DeadlineSpec): number {
  const { insyncTimeoutSeconds, propagation } = config.route53;
  const verify = Math.max(0, ...(spec ? [spec] : config.certificates).map(verifyWaitSeconds));
  const waits = 2 * insyncTimeoutSeconds + (propagation.check ? propagation.timeoutSeconds : 0) + verify;
  return (waits + CA_REQUEST_TIMEOUTS * config.acme.requestTimeoutSeconds + AWS_REQUEST_TIMEOUTS * config.aws.requestTimeoutSeconds) * 1000;
}

/**
 * Runs one renewal's `work` (a renewal, or a dry run's order) under its deadline (`renewalDeadlineMs`): when that
 * passes, `work`'s signal aborts like on SIGTERM (requests to the CA aborted, waits stopped, challenge records
 * removed), and it fails saying how long it had and the step it was at then, not the clean-up that followed.
 * `work` reports its steps through `onStep`; `signal` aborting first (SIGTERM, a lost lease) throws `work`'s own error.
 */
export async function withinRenewalDeadline<T>(
  deadlineMs: number,
  signal: AbortSignal,
  work: (signal: AbortSignal, onStep: (step: string) => void) => Promise<T>,
  onStep: (step: string) => void = () => {},
): Promise<T> {
  const deadline = deadlineSignal(deadlineMs);
  let step = 'starting';
  let stepAtDeadline = step;
  deadline.addEventListener('abort', () => (stepAtDeadline = step), { once: true });
  try {
    return await work(anySignal([signal, deadline]), (next) => {
      step = next;
      onStep(next);
    });
  } catch (error) {
    if (!deadline.aborted || signal.aborted) throw error;
    throw new Error(
      `timed out after ${Math.round(deadlineMs / 1000)} s while ${stepAtDeadline} (the renewal's deadline, from route53.insyncTimeoutSeconds, route53.propagation.timeoutSeconds, verifyTimeoutSeconds, acme.requestTimeoutSeconds and aws.requestTimeoutSeconds)`,
      { cause: error },
    );
  }
}

/**
 * How long a pass over `specs` may take: its first look, then its renewals, which run all at once (or
 * `concurrency` at a time) within each wave (waves one after the other), each within its own deadline. A pass that runs
 * longer is cancelled and reported failed, so a daemon never skips its later passes for good.
 */
export function passDeadlineMs(config: ResolvedConfig, specs: DeadlineSpec[], waves: number): number {
  if (specs.length === 0) return PASS_LOOK_AWS_REQUEST_TIMEOUTS * config.aws.requestTimeoutSeconds * 1000;
  const renewal = Math.max(...specs.map((spec) => renewalDeadlineMs(config, spec)));
  // With no `concurrency`, a wave's renewals run at once: one round per wave.
  const rounds = (config.concurrency ? Math.ceil(specs.length / config.concurrency) : 1) + Math.max(0, waves - 1);
  return PASS_LOOK_AWS_REQUEST_TIMEOUTS * config.aws.requestTimeoutSeconds * 1000 + rounds * renewal;
}

/**
 * SIGTERM/SIGINT: `run` and `renew` are gone within this (Docker's default stop timeout is 10 s; set
 * `--stop-timeout 30` or systemd's TimeoutStopSec=30 for a renewal in flight). The pass under way gets
 * STOP_PASS_GRACE_MS to cancel and remove its challenge records, queued notifications what is left.
 */
export const STOP_BOUND_MS = 20_000;
export const STOP_PASS_GRACE_MS = 12_000;

/** `work`, or `undefined` once `graceMs` have passed since `signal` aborted (it keeps running unobserved). */
export async function settledWithinGrace<T>(work: Promise<T>, signal: AbortSignal, graceMs: number): Promise<{ value: T } | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    onAbort = () => (timer = setTimeout(() => resolve(undefined), graceMs));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([work.then((value) => ({ value })), gaveUp]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort!);
  }
}
