import type { CertificateOutcome } from '../agent/pass.js';
import { runPass } from '../agent/pass.js';
import { openAgent, type CliIo } from './io.js';

export async function renewCommand(names: string[], options: { config: string; force?: boolean; json?: boolean }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => controller.abort(signal);
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const outcomes = await runPass(ctx, { names, force: options.force, signal: controller.signal });
    io.stdout.write(options.json ? `${JSON.stringify(outcomes, null, 2)}\n` : outcomes.map(describeOutcome).join(''));
    return outcomes.every((outcome) => outcome.result === 'renewed' || outcome.result === 'unchanged') ? 0 : 1;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    ctx.close();
  }
}

function describeOutcome(outcome: CertificateOutcome): string {
  switch (outcome.result) {
    case 'renewed':
      return `${outcome.name}: renewed and deployed: ${outcome.deployments!.map((d) => `${d.region} ${d.certificateArn}`).join(', ')}\n`;
    case 'unchanged':
      return `${outcome.name}: nothing to do: ${outcome.decision!.reasons.join('; ')}\n`;
    case 'busy':
      return `${outcome.name}: skipped: another certkeeper process is renewing it\n`;
    case 'cancelled':
      return `${outcome.name}: cancelled${outcome.error ? `: ${outcome.error}` : ''}\n`;
    case 'failed':
      return `${outcome.name}: FAILED: ${outcome.error}\n`;
  }
}
