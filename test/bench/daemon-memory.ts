import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { WatchedCli, eventsNamed } from '../e2e/cli.js';
import { get } from '../stack/metrics-scrape.js';
import { freePort } from '../stack/ports.js';
import type { BenchStack } from './bench-stack.js';
import { certkeeperEnv } from './certkeeper-run.js';
import { lastLines } from './run-process.js';

export interface DaemonMeasurement {
  certificates: number;
  cron: string;
  /** RSS a few seconds after the first pass (which issued the fleet) ended, idle. */
  idleAfterFirstPassMB: number;
  /** RSS a few seconds after the last pass of the simulated day ended, idle. */
  idleAfterDayMB: number;
  /** Peak RSS of the process over its whole life (VmHWM). */
  peakMB: number;
  passes: number;
  dayMinutes: number;
  failedPasses: number;
  exitCode: number | null;
}

/** How long after a pass ends the RSS is sampled: the daemon idle, before the next cron tick. */
const IDLE_SAMPLE_DELAY_MS = 2_000;

/**
 * `certkeeper run` on the stack with its metrics port: the first pass issues the fleet; RSS is sampled
 * when it has been idle a moment; then a cron every few seconds stands in for a day of passes (and a
 * Prometheus scrape every 15 s), and RSS is sampled idle again after the last pass. SIGTERM ends it.
 */
export async function measureDaemon(bench: BenchStack, bin: string, config: string, options: { certificates: number; cron: string; dayMs: number }): Promise<DaemonMeasurement> {
  process.stdout.write(`  daemon: first pass over ${options.certificates}, then passes on '${options.cron}' for ${(options.dayMs / 60_000).toFixed(1)} min… `);
  const port = await freePort();
  const child = spawn(bin, ['run', '--config', config, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], {
    env: { ...certkeeperEnv(bench), NODE_OPTIONS: process.env.NODE_OPTIONS ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const daemon = new WatchedCli(child);
  const pid = child.pid!;
  let scrapes = 0;
  const scraper = setInterval(() => {
    get(`http://127.0.0.1:${port}/metrics`).then(
      () => scrapes++,
      () => undefined,
    );
  }, 15_000);
  try {
    await daemon.waitFor('pass.finished', 1, 600_000);
    const idleAfterFirstPassMB = await idleRss(daemon, pid, 1);
    const dayEnds = Date.now() + options.dayMs;
    while (Date.now() < dayEnds) {
      if (child.exitCode !== null) throw new Error(`certkeeper run exited (${child.exitCode}) during the simulated day`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const passes = eventsNamed(daemon.events, 'pass.finished').length;
    await daemon.waitFor('pass.finished', passes + 1, 60_000);
    const idleAfterDayMB = await idleRss(daemon, pid, passes + 1);
    const peakMB = Math.round(statusField(pid, 'VmHWM') / 1024);
    const finished = eventsNamed(daemon.events, 'pass.finished');
    child.kill('SIGTERM');
    const { code, stderr } = await daemon.done;
    if (code !== 0) process.stdout.write(`\n    certkeeper run failed (exit ${code}):\n${lastLines(stderr)}\n  `);
    const result: DaemonMeasurement = {
      certificates: options.certificates,
      cron: options.cron,
      idleAfterFirstPassMB,
      idleAfterDayMB,
      peakMB,
      passes: finished.length,
      dayMinutes: options.dayMs / 60_000,
      failedPasses: finished.filter((event) => Number(event.failed ?? 0) > 0).length + eventsNamed(daemon.events, 'pass.failed').length,
      exitCode: code,
    };
    process.stdout.write(`idle ${idleAfterFirstPassMB} MB after the first pass, ${idleAfterDayMB} MB after ${result.passes} passes (peak ${peakMB} MB, ${scrapes} scrapes)\n`);
    return result;
  } finally {
    clearInterval(scraper);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

/** VmRSS in MB a moment after the `count`th pass ended, provided no pass started since (else after the next one). */
async function idleRss(daemon: WatchedCli, pid: number, count: number): Promise<number> {
  for (let wanted = count; ; wanted++) {
    await daemon.waitFor('pass.finished', wanted, 60_000);
    await new Promise((resolve) => setTimeout(resolve, IDLE_SAMPLE_DELAY_MS));
    const started = eventsNamed(daemon.events, 'pass.started').length;
    const finished = eventsNamed(daemon.events, 'pass.finished').length;
    if (started === finished) return Math.round(statusField(pid, 'VmRSS') / 1024);
  }
}

/** A kB field of /proc/PID/status (VmRSS, VmHWM). */
function statusField(pid: number, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(match[1]);
}
