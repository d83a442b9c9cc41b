import { scheduleJob } from 'node-schedule';
import { describeError } from '../telemetry/logger.js';
import { packageVersion } from '../telemetry/package-version.js';
import { sleep } from '../util/sleep.js';
import type { AgentPorts } from './ports.js';
import { settledWithinGrace, STOP_PASS_GRACE_MS } from './deadlines.js';
import { runPassWithDeadline } from './pass-deadline.js';
import { WakeUpPlan } from './wake-up-plan.js';
import { discoveryRegions } from '../observe/discover.js';
import { leftConfigWhy } from '../observe/left-config.js';

const DAY_MS = 86_400_000;

// setTimeout cannot wait longer than this (about 24.8 days); a longer wait is re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;
// A look planned for now (or the past) still waits this long: no tight loop, whatever a plan says.
const MIN_WAKE_UP_MS = 1_000;

/**
 * `certkeeper run`: a pass at start, then one per tick of the cron schedule (after a random jitter),
 * and one whenever a certificate's planned look comes due between ticks; passes under way at once never
 * share a certificate (a pass stuck on one certificate does not hold back the others).
 * The wake-up plan keeps the next look of every managed certificate from every pass, and one timer is
 * armed for the earliest after each pass. Resolves when `signal` aborts and the pass under way has
 * finished or cleaned up.
 */
export async function runDaemon(ctx: AgentPorts, signal: AbortSignal): Promise<void> {
  const { jitterSeconds, timezone } = ctx.config.schedule;
  const cron = ctx.config.schedule.cron ?? twiceADayAtRandom();
  const everyName = ctx.config.certificates.map((spec) => spec.name);
  const plan = new WakeUpPlan();
  // Certificates in a pass under way, and those passes. Passes never share a certificate, but one that
  // waits on a slow CA for one certificate must not hold back another certificate that comes due meanwhile.
  const inPass = new Set<string>();
  const running = new Set<Promise<void>>();
  let wakeUp: NodeJS.Timeout | undefined;

  const pass = (trigger: 'start' | 'schedule' | 'due', names: string[] = everyName) => {
    // The jitter comes before the certificates are taken, so it never holds back a renewal that comes due.
    if (trigger === 'schedule' && jitterSeconds > 0) {
      sleep(Math.random() * jitterSeconds * 1000, signal).then(
        () => startPass(trigger, names),
        () => undefined,
      );
    } else {
      startPass(trigger, names);
    }
  };

  const startPass = (trigger: 'start' | 'schedule' | 'due', names: string[]) => {
    if (signal.aborted) return;
    const free = names.filter((name) => !inPass.has(name));
    if (free.length === 0) {
      // Nothing is lost: the plan still holds what was due, and the timer is armed again when that pass ends.
      ctx.log.warn('pass.skipped', { trigger, why: 'every certificate it would look at is in a pass still running' });
      return;
    }
    for (const name of free) inPass.add(name);
    const work: Promise<void> = (async () => {
      try {
        const outcomes = await runPassWithDeadline(ctx, { signal, names: free });
        plan.merge(outcomes, Date.now());
      } catch (error) {
        if (!signal.aborted) {
          ctx.log.error('pass.failed', { error: describeError(error) });
          plan.passFailed(free, Date.now());
        }
      }
    })().finally(() => {
      for (const name of free) inPass.delete(name);
      running.delete(work);
      if (!signal.aborted) armWakeUp();
    });
    running.add(work);
    // The others keep their wake-up while this pass runs.
    armWakeUp();
  };

  /** One timer for the earliest planned look outside the passes under way; when it fires, one pass for every such certificate due by then. */
  const armWakeUp = () => {
    clearTimeout(wakeUp);
    const next = plan.next(inPass);
    if (!next) return;
    const wait = Math.max(MIN_WAKE_UP_MS, next.at - Date.now());
    ctx.log.debug('daemon.wake_up_armed', { at: new Date(next.at).toISOString(), certificates: next.names });
    wakeUp = setTimeout(
      () => {
        const due = plan.due(Date.now()).filter((name) => !inPass.has(name));
        // Early (a wait longer than a timer can hold, or the clock moved): arm again.
        if (due.length === 0) armWakeUp();
        else pass('due', due);
      },
      Math.min(wait, MAX_TIMER_MS),
    );
  };

  const job = scheduleJob(timezone ? { rule: cron, tz: timezone } : cron, () => pass('schedule'));
  if (!job) throw new Error(`schedule.cron "${cron}" is not a valid cron expression`);
  ctx.log.info('daemon.started', {
    version: packageVersion(),
    cron,
    timezone: timezone ?? null,
    jitterSeconds,
    concurrency: ctx.config.concurrency ?? null,
    pid: process.pid,
    nodeVersion: process.versions.node,
  });
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
  ctx.log.info('daemon.stopping', { reason: String(signal.reason ?? 'signal'), passRunning: running.size > 0 });
  // The pass under way is cancelled by the same signal; it gets a bounded time to remove its records.
  if (running.size > 0 && !(await settledWithinGrace(Promise.all(running), signal, STOP_PASS_GRACE_MS))) {
    ctx.log.warn('daemon.stop_timeout', {
      graceSeconds: STOP_PASS_GRACE_MS / 1000,
      why: 'the pass under way did not wind down in time: challenge records it left are in the challenge journal and removed by the next run, and its locks are taken over',
    });
  }
  ctx.log.info('daemon.stopped', {});
}

/**
 * Once a day: a warning for each ACM certificate outside the config that expires soon (nobody else renews
 * it), and for each certkeeper-tagged certificate the config no longer manages.
 */
async function warnAboutUnmanaged(ctx: AgentPorts): Promise<void> {
  const { inventory } = ctx;
  if (!inventory) return;
  const { withinDays } = ctx.config.discovery;
  try {
    const found = await inventory.unmanaged(discoveryRegions(ctx.config), withinDays);
    for (const entry of found) ctx.log.warn('discovery.expiring', { ...entry, why: `not managed by certkeeper and expires within ${withinDays} days` });
  } catch (error) {
    ctx.log.warn('discovery.failed', { error: describeError(error) });
  }
  try {
    // certkeeper's own certificates that left the config, whatever their expiry: nobody renews them now.
    for (const entry of await inventory.leftConfig(discoveryRegions(ctx.config))) {
      ctx.log.warn('discovery.unmanaged_owned', { ...entry, why: leftConfigWhy(entry) });
    }
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
