import type { CertificateOutcome } from '../agent/pass.js';
import { runPass } from '../agent/pass.js';
import { openAgent, type CliIo } from './io.js';

export interface RenewOptions {
  config: string;
  force?: boolean;
  reason?: string;
  ignoreRateLimits?: boolean;
  json?: boolean;
}

export async function renewCommand(names: string[], options: RenewOptions, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => controller.abort(signal);
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const outcomes = await runPass(ctx, {
      names,
      force: options.force,
      reason: options.reason,
      ignoreRateLimits: options.ignoreRateLimits,
      signal: controller.signal,
    });
    io.stdout.write(options.json ? `${JSON.stringify(outcomes, null, 2)}\n` : outcomes.map(describeOutcome).join(''));
    // Held back (backoff, rate limits) is not done: only renewed or up to date counts as success.
    return outcomes.every((outcome) => outcome.result === 'renewed' || outcome.result === 'redeployed' || (outcome.result === 'unchanged' && outcome.decision?.checks.includes('UpToDate'))) ? 0 : 1;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await ctx.flushNotifications();
    ctx.close();
  }
}

function describeOutcome(outcome: CertificateOutcome): string {
  switch (outcome.result) {
    case 'renewed':
      return `${outcome.name}: renewed and deployed: ${outcome.deployments!.map((d) => `${d.region} ${d.certificateArn}`).join(', ')}\n`;
    case 'redeployed':
      // A redeploy puts the certificate back on drifted listeners and/or retires leftovers of an interrupted run.
      return `${outcome.name}: ${outcome.decision!.checks.includes('ListenerDrift') ? 'put back on its listeners' : 'tidied up'}: ${outcome.decision!.reasons.join('; ')}\n`;
    case 'unchanged':
      return `${outcome.name}: ${outcome.decision!.checks.includes('UpToDate') ? 'nothing to do' : 'not now'}: ${outcome.decision!.reasons.join('; ')}\n`;
    case 'busy':
      return `${outcome.name}: skipped: another certkeeper process is renewing it\n`;
    case 'cancelled':
      return `${outcome.name}: cancelled${outcome.error ? `: ${outcome.error}` : ''}\n`;
    case 'failed':
      return `${outcome.name}: FAILED: ${outcome.error}\n`;
  }
}
