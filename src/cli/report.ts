import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { collectStatus } from '../agent/status.js';
import { describeError } from '../telemetry/logger.js';
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
      await writeInOneStep(options.html, page);
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

/**
 * Into place in one step, so a web server serving the file never sends half a page. The page may go to a
 * directory others can write (/tmp): its temporary name is unguessable and created exclusively, so nobody
 * can plant a file or symlink there for it to write through. Public facts only, so world-readable.
 */
async function writeInOneStep(target: string, page: string): Promise<void> {
  const partial = `${target}.${randomBytes(6).toString('hex')}.partial`;
  let created = false;
  try {
    const file = await open(partial, 'wx', 0o644);
    created = true;
    try {
      await file.writeFile(page);
    } finally {
      await file.close();
    }
    await rename(partial, target);
  } catch (error) {
    if (created) await rm(partial, { force: true });
    throw new Error(`cannot write the status page to ${target} (--html): ${describeError(error)}`, { cause: error });
  }
}
