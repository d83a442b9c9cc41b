import { collectStatus, type StatusRow } from '../../agent/status.js';
import type { AgentPorts } from '../../agent/ports.js';
import type { StatusPageSource } from '../../telemetry/metrics-server.js';
import { packageVersion } from '../../telemetry/package-version.js';
import type { RecentPasses } from '../../telemetry/recent-passes.js';
import { CONTENT_SECURITY_POLICY, renderStatusPage } from './render.js';
import { statusPageView } from './view.js';

// Reading the fleet's state costs AWS and CA requests: a page reloaded by many people, or scraped, reads
// it at most this often (the audit events of the page are always the latest).
const READ_AT_MOST_EVERY_MS = 10_000;
// The page reloads itself, without script, as often as a person watching it would want.
const REFRESH_SECONDS = 30;

/** `/status` of `run`: what `status` reads, with the events of the last passes, rendered per request. */
export function liveStatusPage(ctx: AgentPorts, recent: RecentPasses, readEveryMs = READ_AT_MOST_EVERY_MS): StatusPageSource {
  let last: { at: number; rows: Promise<StatusRow[]> } | undefined;
  const rows = (): Promise<StatusRow[]> => {
    const now = Date.now();
    if (!last || now - last.at >= readEveryMs) {
      const reading = collectStatus(ctx);
      last = { at: now, rows: reading };
      // A failed read is not kept: the next request tries again.
      reading.catch(() => {
        if (last?.rows === reading) last = undefined;
      });
    }
    return last.rows;
  };
  return {
    contentSecurityPolicy: CONTENT_SECURITY_POLICY,
    render: async () =>
      renderStatusPage(statusPageView(await rows(), { now: ctx.clock.now(), version: packageVersion(), source: 'run', passes: recent.passes() }), {
        refreshSeconds: REFRESH_SECONDS,
      }),
  };
}
