import type { CertificateOutcome } from '../agent/pass.js';
import { runPassWithDeadline } from '../agent/pass-deadline.js';
import { Check, checksAndReasons, found } from '../policy/checks.js';
import type { CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';
import { runRenewingCommand } from './renewing-command.js';

export interface RenewOptions {
  config: string;
  force?: boolean;
  reason?: string;
  ignoreRateLimits?: boolean;
  json?: boolean;
  logFormat?: LogFormat;
}

export async function renewCommand(names: string[], options: RenewOptions, io: CliIo): Promise<number> {
  return runRenewingCommand(
    options,
    io,
    'the renewal under way',
    (ctx, signal) => runPassWithDeadline(ctx, { names, force: options.force, reason: options.reason, ignoreRateLimits: options.ignoreRateLimits, signal }),
    (outcomes) => {
      io.stdout.write(options.json ? `${JSON.stringify(outcomes.map(asReported), null, 2)}\n` : outcomes.map(describeOutcome).join(''));
      // Held back (backoff, rate limits) is not done: only renewed or up to date counts as success.
      return outcomes.every(
        (outcome) => outcome.result === 'renewed' || outcome.result === 'redeployed' || (outcome.result === 'unchanged' && found(outcome.decision.findings, Check.UpToDate)),
      )
        ? 0
        : 1;
    },
  );
}

function describeOutcome(outcome: CertificateOutcome): string {
  switch (outcome.result) {
    case 'renewed':
      return `${outcome.name}: renewed and deployed: ${outcome.deployments.map((d) => `${d.region} ${d.certificateArn}`).join(', ')}\n`;
    case 'redeployed':
      // A redeploy puts the certificate back on drifted listeners and/or retires leftovers of an interrupted run.
      return `${outcome.name}: ${found(outcome.decision.findings, Check.ListenerDrift) ? 'put back on its listeners' : 'tidied up'}: ${reasonsOf(outcome)}\n`;
    case 'unchanged':
      return `${outcome.name}: ${found(outcome.decision.findings, Check.UpToDate) ? 'nothing to do' : 'not now'}: ${reasonsOf(outcome)}\n`;
    case 'busy':
      return `${outcome.name}: skipped: another certkeeper process is renewing it\n`;
    case 'cancelled':
      return `${outcome.name}: cancelled${outcome.error ? `: ${outcome.error}` : ''}\n`;
    case 'failed':
      return `${outcome.name}: FAILED: ${outcome.error}\n`;
  }
}

function reasonsOf(outcome: CertificateOutcome): string {
  return checksAndReasons(outcome.decision!.findings).reasons.join('; ');
}

/** `--json` shows a decision as before: `checks` and `reasons` in place of its findings. */
function asReported(outcome: CertificateOutcome) {
  if (!outcome.decision) return outcome;
  const { action, findings, ...rest } = outcome.decision;
  return { ...outcome, decision: { action, ...checksAndReasons(findings), ...rest } };
}
