import { collectStatus, type StatusRow } from '../agent/status.js';
import { openAgent, type CliIo } from './io.js';

export async function statusCommand(names: string[], options: { config: string; json?: boolean }, io: CliIo): Promise<number> {
  const ctx = await openAgent(options.config, io);
  try {
    const rows = await collectStatus(ctx, names);
    io.stdout.write(options.json ? `${JSON.stringify(rows, null, 2)}\n` : renderTable(rows));
    return rows.some((row) => row.error) ? 1 : 0;
  } finally {
    ctx.close();
  }
}

/** One row per certificate, then its ACM ARNs and the reasons for the action, indented beneath it. */
export function renderTable(rows: StatusRow[]): string {
  const header = ['NAME', 'DOMAINS', 'SERIAL', 'NOT AFTER', 'DAYS LEFT', 'ACTION'];
  const cells = rows.map((row) => [
    row.name,
    row.domains.join(','),
    row.serial ?? '-',
    row.notAfter ?? '-',
    row.daysLeft === null ? '-' : row.daysLeft.toFixed(1),
    row.action,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...cells.map((line) => line[column]!.length)));
  const format = (line: string[]) => line.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd();
  const out = [format(header)];
  rows.forEach((row, index) => {
    out.push(format(cells[index]!));
    for (const acm of row.acm) out.push(`    acm ${acm.region}: ${acm.certificateArn ?? '(none)'}`);
    for (const reason of row.reasons) out.push(`    why: ${reason}`);
  });
  return `${out.join('\n')}\n`;
}
