import { runDaemon } from '../agent/daemon.js';
import { ConfigError } from '../config/config-error.js';
import { collectStatus } from '../agent/status.js';
import { HealthTracker } from '../telemetry/health.js';
import { followAuditEvents } from '../telemetry/metrics.js';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.js';
import { RecentPasses } from '../telemetry/recent-passes.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';
import { startProgress } from './progress/renewal-progress.js';
import { liveStatusPage } from './status-page/live.js';
import { exitWithinStopBound } from './stop-bound.js';

export interface RunOptions {
  config: string;
  /** Overrides CERTKEEPER_METRICS_PORT, which overrides `metrics.port` of the config. */
  metricsPort?: number;
  /** Overrides `metrics.host` of the config. */
  metricsHost?: string;
  logFormat?: LogFormat;
}

/**
 * CERTKEEPER_METRICS_PORT: the container image sets the port once there, and its HEALTHCHECK reads the same
 * variable. Empty is unset (how `docker run -e CERTKEEPER_METRICS_PORT=` turns the image's port off).
 */
export function metricsPortFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) {
    throw new ConfigError(`CERTKEEPER_METRICS_PORT is "${value}": expected a TCP port from 1 to 65535, such as 9464, or empty for none`);
  }
  return port;
}

export async function runCommand(options: RunOptions, io: CliIo): Promise<number> {
  const envPort = options.metricsPort === undefined ? metricsPortFromEnv(process.env.CERTKEEPER_METRICS_PORT) : undefined;
  // Each pass's renewals drawn live at a terminal, as for `renew`; the block stays on screen between passes.
  const progress = startProgress(io, options);
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, interleave: progress?.interleave });
  progress?.follow(ctx.log, { propagationCheck: ctx.config.route53.propagation.check });
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    ctx.log.info('daemon.signal', { signal });
    controller.abort(signal);
    // `run` stopped by a signal exits 0 (the contract), however the shutdown went.
    exitWithinStopBound(0);
  };
  let metrics: MetricsServer | undefined;
  const stopFollowing: (() => void)[] = [];
  try {
    const port = options.metricsPort ?? envPort ?? ctx.config.metrics?.port;
    if (port !== undefined) {
      const health = new HealthTracker();
      // The status page's audit events: the last passes', bounded, as the logger redacted them.
      const recent = new RecentPasses();
      stopFollowing.push(followAuditEvents(ctx.log), health.follow(ctx.log), recent.follow(ctx.log));
      // Default: every interface, as Prometheus exporters do: a scraper runs on another machine or outside the container.
      const host = options.metricsHost ?? ctx.config.metrics?.host;
      metrics = await startMetricsServer({
        port,
        host,
        health,
        statusPage: liveStatusPage(
          () => collectStatus(ctx),
          recent,
          () => ctx.clock.now(),
        ),
      });
      ctx.log.info('metrics.listening', { address: metrics.address.address, port: metrics.address.port, paths: ['/metrics', '/healthz', '/readyz', '/status'] });
    }
    process.on('SIGINT', stop).on('SIGTERM', stop);
    await runDaemon(ctx, controller.signal);
    return 0;
  } finally {
    progress?.stop();
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await ctx.flushNotifications();
    await metrics?.close();
    for (const unfollow of stopFollowing) unfollow();
    ctx.close();
  }
}
