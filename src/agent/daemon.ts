import { scheduleJob } from 'node-schedule';
import { describeError } from '../telemetry/logger.js';
import { sleep } from '../util/sleep.js';
import type { AgentContext } from './context.js';
import { runPass } from './pass.js';

/**
 * `certkeeper run`: a pass at start, then one per tick of the cron schedule (after a random jitter),
 * never two at once. Resolves when `signal` aborts and the pass under way has finished or cleaned up.
 */
export async function runDaemon(ctx: AgentContext, signal: AbortSignal): Promise<void> {
  const { cron, jitterSeconds } = ctx.config.schedule;
  let running: Promise<void> | undefined;

  const pass = (trigger: 'start' | 'schedule') => {
    if (running) {
      ctx.log.warn('pass.skipped', { trigger, why: 'the previous pass is still running' });
      return;
    }
    running = (async () => {
      try {
        if (trigger === 'schedule' && jitterSeconds > 0) await sleep(Math.random() * jitterSeconds * 1000, signal);
        await runPass(ctx, { signal });
      } catch (error) {
        if (!signal.aborted) ctx.log.error('pass.failed', { error: describeError(error) });
      } finally {
        running = undefined;
      }
    })();
  };

  const job = scheduleJob(cron, () => pass('schedule'));
  if (!job) throw new Error(`schedule.cron "${cron}" is not a valid cron expression`);
  ctx.log.info('daemon.started', { cron, jitterSeconds, pid: process.pid, nodeVersion: process.versions.node });
  if (Number(process.versions.node.split('.')[0]) < 22) {
    ctx.log.warn('runtime.node_outdated', {
      nodeVersion: process.versions.node,
      why: 'AWS SDK releases from January 2027 need Node 22; certkeeper runs on Node 20 with the SDK it ships, but plan the upgrade',
    });
  }
  pass('start');

  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  job.cancel();
  ctx.log.info('daemon.stopping', { reason: String(signal.reason ?? 'signal'), passRunning: Boolean(running) });
  await running;
  ctx.log.info('daemon.stopped', {});
}
