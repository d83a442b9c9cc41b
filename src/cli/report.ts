import { rename, rm, writeFile } from 'node:fs/promises';
import { collectStatus } from '../agent/status.js';
import { packageVersion } from '../telemetry/package-version.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';
import { renderStatusPage } from './status-page/render.js';
import { statusPageView } from './status-page/view.js';

export interface ReportOptions {
  config: string;
  /** Where to write the page; `-` for stdout. */
  html: string;
  logFormat?: LogFormat;
}

/**
 * `report --html FILE`: the status page as one self-contained HTML file, from what `status` reads and the
 * store's records. Exit codes as `status`: 1 when a certificate could not be read or cannot be renewed.
 */
export async function reportCommand(names: string[], options: ReportOptions, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, readOnly: true });
  try {
    const now = ctx.clock.now();
    const rows = await collectStatus(ctx, names, now);
    const view = statusPageView(rows, { now, version: packageVersion(), source: 'report' });
    const page = renderStatusPage(view);
    if (options.html === '-') {
      io.stdout.write(page);
    } else {
      // Into place in one step: a web server serving the file never sends half a page. Public facts only, so world-readable.
      const partial = `${options.html}.${process.pid}.partial`;
      try {
        await writeFile(partial, page, { mode: 0o644 });
        await rename(partial, options.html);
      } catch (error) {
        await rm(partial, { force: true });
        throw new Error(`cannot write the status page to ${options.html} (--html): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
      const counts = view.certificates.reduce<Record<string, number>>((all, certificate) => ({ ...all, [certificate.state]: (all[certificate.state] ?? 0) + 1 }), {});
      const summary = Object.entries(counts)
        .map(([state, count]) => `${count} ${state}`)
        .join(', ');
      io.stdout.write(`wrote ${options.html}: ${view.certificates.length} certificate${view.certificates.length === 1 ? '' : 's'}${summary ? ` (${summary})` : ''}\n`);
    }
    return rows.some((row) => row.error) ? 1 : 0;
  } finally {
    ctx.close();
  }
}
