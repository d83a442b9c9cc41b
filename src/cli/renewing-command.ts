import { settledWithinGrace, STOP_PASS_GRACE_MS } from '../agent/deadlines.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';
import { startProgress } from './progress/renewal-progress.js';
import { exitWithinStopBound } from './stop-bound.js';
import type { AgentContext } from './wiring.js';

export interface RenewingCommandOptions {
  config: string;
  json?: boolean;
  logFormat?: LogFormat;
}

/**
 * The frame of a command that renews (`renew`, `renew --dry-run`): the live progress at a terminal, the agent,
 * SIGINT/SIGTERM cancelling the work (exit 1 within the stop bound), notifications flushed at the end.
 * `work` gets the cancel signal; `report` prints what it settled with and gives the exit code.
 */
export async function runRenewingCommand<T>(
  options: RenewingCommandOptions,
  io: CliIo,
  what: string,
  work: (ctx: AgentContext, signal: AbortSignal) => Promise<T>,
  report: (value: T, ctx: AgentContext) => number,
): Promise<number> {
  const progress = startProgress(io, options);
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, interleave: progress?.interleave });
  progress?.follow(ctx.log, { propagationCheck: ctx.config.route53.propagation.check });
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    controller.abort(signal);
    // Interrupted is not done: exit 1, within the bound.
    exitWithinStopBound(1);
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    const settled = await settledWithinGrace(work(ctx, controller.signal), controller.signal, STOP_PASS_GRACE_MS);
    progress?.stop();
    if (!settled) {
      io.stdout.write(`interrupted: ${what} did not stop within ${STOP_PASS_GRACE_MS / 1000} s; challenge records it left are removed by the next run\n`);
      return 1;
    }
    return report(settled.value, ctx);
  } finally {
    progress?.stop();
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await ctx.flushNotifications();
    ctx.close();
  }
}
