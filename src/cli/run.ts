import { runDaemon } from '../agent/daemon.js';
import { collectStatus } from '../agent/status.js';
import { HealthTracker } from '../telemetry/health.js';
import { followAuditEvents } from '../telemetry/metrics.js';
import { startMetricsServer, type MetricsServer } from '../telemetry/metrics-server.js';
import { RecentPasses } from '../telemetry/recent-passes.js';
import { openAgent, type CliIo } from './io.js';
import { liveStatusPage } from './status-page/live.js';
import { exitWithinStopBound } from './stop-bound.js';

export interface RunOptions {
  config: string;
  /** Overrides `metrics.port` of the config. */
  metricsPort?: number;
  /** Overrides `metrics.host` of the config. */
  metricsHost?: string;
}

export async function runCommand(options: RunOptions, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io);
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
    const port = options.metricsPort ?? ctx.config.metrics?.port;
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
    process.off('SIGINT', stop).off('SIGTERM', stop);
    await ctx.flushNotifications();
    await metrics?.close();
    for (const unfollow of stopFollowing) unfollow();
    ctx.close();
  }
}
