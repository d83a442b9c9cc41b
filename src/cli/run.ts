import { runDaemon } from '../agent/daemon.js';
import { openAgent, type CliIo } from './io.js';

export async function runCommand(options: { config: string }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.log.info('daemon.signal', { signal });
    controller.abort(signal);
  };
  process.on('SIGINT', stop).on('SIGTERM', stop);
  try {
    await runDaemon(ctx, controller.signal);
    return 0;
  } finally {
    process.off('SIGINT', stop).off('SIGTERM', stop);
    ctx.close();
  }
}
