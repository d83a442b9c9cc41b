import { settledWithinGrace, STOP_PASS_GRACE_MS } from '../agent/deadlines.js';
import { runDryRun, type DryRunOutcome } from '../agent/dry-run.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';
import { startProgress } from './progress/renewal-progress.js';
import { exitWithinStopBound } from './stop-bound.js';

export interface DryRunOptions {
  config: string;
  json?: boolean;
  logFormat?: LogFormat;
}

/**
 * `certkeeper renew --dry-run [NAME...]`: every named certificate (all when none is named) through the
 * renewal path against the CA's staging directory, changing nothing that is served and recording nothing
 * (agent/dry-run.ts). Exit 0 when the whole path worked for each, 1 when one failed (the line says why).
 */
export async function dryRunCommand(names: string[], options: DryRunOptions, io: CliIo): Promise<number> {
  // At a terminal, the same live line per certificate as a renewal (its steps read from the same events).
  const progress = startProgress(io, options);
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, interleave: progress?.interleave });
  progress?.follow(ctx.log, { propagationCheck: ctx.config.route53.propagation.check });
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    controller.abort(signal);
    exitWithinStopBound(1);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const run = runDryRun(ctx, ctx.stagingIssuer(), { names, signal: controller.signal });
    const settled = await settledWithinGrace(run, controller.signal, STOP_PASS_GRACE_MS);
    progress?.stop();
    if (!settled) {
      io.stdout.write(`interrupted: the dry run did not stop within ${STOP_PASS_GRACE_MS / 1000} s; challenge records it left are removed by the next run\n`);
      return 1;
    }
    const outcomes = settled.value;
    const directoryUrl = ctx.config.acme.stagingDirectoryUrl;
    io.stdout.write(
      options.json
        ? `${JSON.stringify(
            outcomes.map((outcome) => ({ ...outcome, dryRun: true, directoryUrl })),
            null,
            2,
          )}\n`
        : outcomes.map((outcome) => describe(outcome, directoryUrl)).join(''),
    );
    return outcomes.every((outcome) => outcome.result === 'succeeded') ? 0 : 1;
  } finally {
    progress?.stop();
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await ctx.flushNotifications();
    ctx.close();
  }
}

function describe(outcome: DryRunOutcome, directoryUrl: string): string {
  switch (outcome.result) {
    case 'succeeded':
      return `${outcome.name}: dry run passed: ${directoryUrl} issued serial ${outcome.serial} (order ${outcome.orderUrl}); not deployed, nothing recorded\n`;
    case 'failed':
      return `${outcome.name}: dry run FAILED: ${outcome.error}\n`;
    case 'cancelled':
      return `${outcome.name}: dry run cancelled${outcome.error ? `: ${outcome.error}` : ''}\n`;
  }
}
