import { scheduleJob } from 'node-schedule';
import { describeError } from '../telemetry/logger.js';
import { sleep } from '../util/sleep.js';
import type { AgentContext } from './context.js';
import { settledWithinGrace, STOP_PASS_GRACE_MS } from './deadlines.js';
import { runPassWithDeadline } from './pass-deadline.js';
import { WakeUpPlan } from './wake-up-plan.js';
import { configuredArns, discoverUnmanaged, discoveryRegions } from '../observe/discover.js';

const DAY_MS = 86_400_000;

// setTimeout cannot wait longer than this (about 24.8 days); a longer wait is re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;
// A look planned for now (or the past) still waits this long: no tight loop, whatever a plan says.
const MIN_WAKE_UP_MS = 1_000;

/**
 * `certkeeper run`: a pass at start, then one per tick of the cron schedule (after a random jitter),
 * and one whenever a certificate's planned look comes due between ticks; never two passes at once.
 * The wake-up plan keeps the next look of every managed certificate from every pass, and one timer is
 * armed for the earliest after each pass. Resolves when `signal` aborts and the pass under way has
 * finished or cleaned up.
 */
export async function runDaemon(ctx: AgentContext, signal: AbortSignal): Promise<void> {
  const { jitterSeconds, timezone } = ctx.config.schedule;
  const cron = ctx.config.schedule.cron ?? twiceADayAtRandom();
  const plan = new WakeUpPlan();
  let running: Promise<void> | undefined;
  let wakeUp: NodeJS.Timeout | undefined;

  const pass = (trigger: 'start' | 'schedule' | 'due', names?: string[]) => {
    if (running) {
      // Nothing is lost: the plan still holds what was due, and the timer is armed again after the running pass.
      ctx.log.warn('pass.skipped', { trigger, why: 'the previous pass is still running' });
      return;
    }
    running = (async () => {
      try {
        if (trigger === 'schedule' && jitterSeconds > 0) await sleep(Math.random() * jitterSeconds * 1000, signal);
        const outcomes = await runPassWithDeadline(ctx, { signal, names });
        plan.merge(outcomes, Date.now());
      } catch (error) {
        if (!signal.aborted) {
          ctx.log.error('pass.failed', { error: describeError(error) });
          plan.passFailed(names, Date.now());
        }
      } finally {
        running = undefined;
        if (!signal.aborted) armWakeUp();
      }
    })();
  };

  /** One timer for the earliest planned look; when it fires, one pass for every certificate due by then. */
  const armWakeUp = () => {
    clearTimeout(wakeUp);
    const next = plan.next();
    if (!next) return;
    const wait = Math.max(MIN_WAKE_UP_MS, next.at - Date.now());
    ctx.log.debug('daemon.wake_up_armed', { at: new Date(next.at).toISOString(), certificates: next.names });
    wakeUp = setTimeout(() => {
      const due = plan.due(Date.now());
      // Early (a wait longer than a timer can hold, or the clock moved): arm again.
      if (due.length === 0) armWakeUp();
      else pass('due', due);
    }, Math.min(wait, MAX_TIMER_MS));
  };

  const job = scheduleJob(timezone ? { rule: cron, tz: timezone } : cron, () => pass('schedule'));
  if (!job) throw new Error(`schedule.cron "${cron}" is not a valid cron expression`);
  ctx.log.info('daemon.started', { cron, timezone: timezone ?? null, jitterSeconds, concurrency: ctx.config.concurrency, pid: process.pid, nodeVersion: process.versions.node });
  if (Number(process.versions.node.split('.')[0]) < 22) {
    ctx.log.warn('runtime.node_outdated', {
      nodeVersion: process.versions.node,
      why: 'AWS SDK releases from January 2027 need Node 22; certkeeper runs on Node 20 with the SDK it ships, but plan the upgrade',
    });
  }
  pass('start');
  const discovery = setInterval(() => void warnAboutUnmanaged(ctx), DAY_MS);
  void warnAboutUnmanaged(ctx);

  await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  job.cancel();
  clearTimeout(wakeUp);
  clearInterval(discovery);
  ctx.log.info('daemon.stopping', { reason: String(signal.reason ?? 'signal'), passRunning: Boolean(running) });
  // The pass under way is cancelled by the same signal; it gets a bounded time to remove its records.
  if (running && !(await settledWithinGrace(running, signal, STOP_PASS_GRACE_MS))) {
    ctx.log.warn('daemon.stop_timeout', {
      graceSeconds: STOP_PASS_GRACE_MS / 1000,
      why: 'the pass under way did not wind down in time: challenge records it left are in the challenge journal and removed by the next run, and its locks are taken over',
    });
  }
  ctx.log.info('daemon.stopped', {});
}

/** Once a day: a warning for each ACM certificate outside the config that expires soon (nobody else renews it). */
async function warnAboutUnmanaged(ctx: AgentContext): Promise<void> {
  const { withinDays } = ctx.config.discovery;
  try {
    const found = await discoverUnmanaged((region) => ctx.aws.acm(region), discoveryRegions(ctx.config), withinDays, configuredArns(ctx.config));
    for (const entry of found) ctx.log.warn('discovery.expiring', { ...entry, why: `not managed by certkeeper and expires within ${withinDays} days` });
  } catch (error) {
    ctx.log.warn('discovery.failed', { error: describeError(error) });
  }
}

/** Twice a day at a minute (and hour) picked now, as certbot's timer does: a fleet spreads over the day. */
function twiceADayAtRandom(): string {
  const minute = Math.floor(Math.random() * 60);
  const hour = Math.floor(Math.random() * 12);
  return `${minute} ${hour},${hour + 12} * * *`;
}
