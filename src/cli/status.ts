import { collectStatus, type StatusRow } from '../agent/status.js';
import { openAgent, type CliIo } from './io.js';
import type { LogFormat } from './output-mode.js';
import { leftConfigForStatus, renderLeftConfigUnderTable } from './left-config-report.js';

export async function statusCommand(names: string[], options: { config: string; json?: boolean; logFormat?: LogFormat }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, readOnly: true });
  try {
    const scope = ctx.forPass();
    const rows = await collectStatus(ctx, names, undefined, scope);
    // The whole config's view only; JSON stays an array of rows, these go to the log (stderr) as events.
    const leftConfig = names.length === 0 ? await leftConfigForStatus(ctx, scope) : undefined;
    io.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : `${renderStatus(rows)}${leftConfig ? renderLeftConfigUnderTable(leftConfig) : ''}`);
    return rows.some((row) => row.error) ? 1 : 0;
  } finally {
    ctx.close();
  }
}

/** `plan`: the decision part of status: what a pass would do now, why, and when the next renewal is. */
export async function planCommand(names: string[], options: { config: string; json?: boolean; logFormat?: LogFormat }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io, { logFormat: options.logFormat, readOnly: true });
  try {
    const rows = await collectStatus(ctx, names);
    const plan = rows.map(({ name, action, checks, reasons, renewAt, window, ari, nextAttemptAt, error }) => ({
      name,
      action,
      checks,
      reasons,
      renewAt,
      window,
      ari,
      nextAttemptAt,
      ...(error && { error }),
    }));
    io.stdout.write(options.json ? `${JSON.stringify(plan, null, 2)}\n` : renderPlan(rows));
    return rows.some((row) => row.error) ? 1 : 0;
  } finally {
    ctx.close();
  }
}

/** One row per certificate, then its ACM ARNs, windows and the reasons for the action, indented beneath it. */
export function renderStatus(rows: StatusRow[]): string {
  const out = table(
    ['NAME', 'DOMAINS', 'SERIAL', 'NOT AFTER', 'DAYS LEFT', 'ACTION'],
    rows.map((row) => [row.name, row.domains.join(','), row.serial ?? '-', row.notAfter ?? '-', row.daysLeft === null ? '-' : row.daysLeft.toFixed(1), row.action]),
  );
  return rows
    .map((row, index) => {
      const details = row.acm.flatMap((acm) => [
        `    acm ${acm.region}: ${acm.certificateArn ?? '(none)'}`,
        ...(acm.attachments ?? []).map(
          (place) => `      ${place.kind} ${place.id}: ${place.error ? `cannot be read: ${place.error}` : place.carries ? 'uses it' : 'does NOT use it'}`,
        ),
      ]);
      if (row.window) details.push(`    window (${row.window.source}): ${row.window.start} .. ${row.window.end}`);
      details.push(`    ari: ${describeAri(row)}`);
      if (row.renewAt) details.push(`    next renewal: ${row.action === 'renew' ? 'now' : row.renewAt}`);
      if (row.lock)
        details.push(`    locked by ${row.lock.holder} for ${row.lock.ageSeconds} s (${row.lock.live ? 'live' : 'stale, taken over by the next renewal'}: ${row.lock.why})`);
      if (row.consecutiveFailures > 0)
        details.push(`    failures in a row: ${row.consecutiveFailures} (last at ${row.lastErrorAt}: ${row.lastError}); next attempt ${row.nextAttemptAt ?? 'now'}`);
      else if (row.lastError) details.push(`    last failure (history, recovered since): ${row.lastErrorAt}: ${row.lastError}`);
      for (const entry of row.served) {
        details.push(`    served by ${entry.endpoint}: ${entry.error ?? `serial ${entry.serial}`}${entry.matches ? '' : ' (NOT the deployed certificate)'}`);
      }
      details.push(...row.reasons.map((reason) => `    why: ${reason}`));
      return [out.rows[index], ...details].join('\n');
    })
    .reduce((text, block) => `${text}${block}\n`, `${out.header}\n`);
}

function renderPlan(rows: StatusRow[]): string {
  const out = table(
    ['NAME', 'ACTION', 'NEXT RENEWAL', 'WINDOW'],
    rows.map((row) => [row.name, row.action, row.action === 'renew' ? 'now' : (row.renewAt ?? '-'), row.window?.source ?? '-']),
  );
  return rows
    .map((row, index) => [out.rows[index], ...row.reasons.map((reason) => `    why: ${reason}`)].join('\n'))
    .reduce((text, block) => `${text}${block}\n`, `${out.header}\n`);
}

function describeAri(row: StatusRow): string {
  const { ari } = row;
  if (ari.status === 'window')
    return `${ari.start} .. ${ari.end}, chosen moment ${ari.chosenAt}${ari.note ? ` (last check failed: ${ari.note})` : ''}; next check ${ari.nextCheckAt}`;
  if (ari.status === 'unavailable') return `unavailable: ${ari.note}; next check ${ari.nextCheckAt}`;
  if (ari.status === 'not-offered') return 'not offered by the CA';
  return ari.status === 'nothing-deployed' ? '-' : ari.status;
}

function table(header: string[], cells: string[][]): { header: string; rows: string[] } {
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const format = (line: string[]) =>
    line
      .map((cell, column) => cell.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  return { header: format(header), rows: cells.map(format) };
}
