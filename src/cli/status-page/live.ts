import type { StatusRow } from '../../agent/status.js';
import type { StatusPageSource } from '../../telemetry/metrics-server.js';
import { packageVersion } from '../../telemetry/package-version.js';
import type { RecentPasses } from '../../telemetry/recent-passes.js';
import { CONTENT_SECURITY_POLICY, renderStatusPage } from './render.js';
import { statusPageView } from './view.js';

// Reading the fleet's state costs AWS and CA requests: a page reloaded by many people, or scraped, reads
// it at most this often (the audit events on the page are always the latest).
const READ_AT_MOST_EVERY_MS = 10_000;
// The page reloads itself, without script, as often as a person watching it would want.
const REFRESH_SECONDS = 30;

/**
 * `/status` of `run`: the rows `status` reads (`readRows`, shared by requests within `readEveryMs`), with
 * the events of the last passes, rendered per request.
 */
export function liveStatusPage(readRows: () => Promise<StatusRow[]>, recent: RecentPasses, now: () => Date, readEveryMs = READ_AT_MOST_EVERY_MS): StatusPageSource {
  let last: { at: number; rows: Promise<StatusRow[]> } | undefined;
  const rows = (): Promise<StatusRow[]> => {
    const at = now().getTime();
    if (!last || at - last.at >= readEveryMs) {
      const reading = readRows();
      last = { at, rows: reading };
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
      renderStatusPage(statusPageView(await rows(), { now: now(), version: packageVersion(), source: 'run', passes: recent.passes() }), {
        refreshSeconds: REFRESH_SECONDS,
      }),
  };
}
