import type { AgentPorts } from './ports.js';
import { passDeadlineMs, settledWithinGrace, STOP_PASS_GRACE_MS } from './deadlines.js';
import { renewalWaves, runPass, selectCertificates, type CertificateOutcome, type PassOptions } from './pass.js';

/**
 * A pass with a deadline (`passDeadlineMs`): past it, the pass is cancelled like on SIGTERM (renewals
 * stop and remove their challenge records), reported failed (`pass.failed`), and its certificates count
 * as failed; if it does not even wind down within STOP_PASS_GRACE_MS, it is no longer waited for, so the
 * caller (the daemon's next pass, `renew`'s exit) is never held for good.
 */
export async function runPassWithDeadline(ctx: AgentPorts, options: PassOptions = {}): Promise<CertificateOutcome[]> {
  const specs = selectCertificates(ctx.config.certificates, options.names);
  const deadlineMs = passDeadlineMs(ctx.config, specs, renewalWaves(specs.map((spec) => ({ spec }))).length);
  const deadline = AbortSignal.timeout(deadlineMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  const settled = await settledWithinGrace(runPass(ctx, { ...options, signal }), deadline, STOP_PASS_GRACE_MS);
  const cancelled = specs.map((spec): CertificateOutcome => ({ name: spec.name, result: 'cancelled' }));
  if (!deadline.aborted || options.signal?.aborted) return settled?.value ?? cancelled;
  const error = `the pass did not finish within its deadline of ${Math.round(deadlineMs / 1000)} s and was cancelled${settled ? '' : ` (still winding down ${STOP_PASS_GRACE_MS / 1000} s later: no longer waited for)`}`;
  ctx.log.error('pass.failed', { error, certificates: specs.map((spec) => spec.name) });
  return (settled?.value ?? cancelled).map((outcome) => (outcome.result === 'cancelled' ? { ...outcome, result: 'failed', error } : outcome));
}
