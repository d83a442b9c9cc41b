import type { FloorMeasurement } from './acme-floor.js';
import type { CertbotMeasurement } from './certbot-run.js';
import type { CertkeeperMeasurement } from './certkeeper-run.js';
import type { DaemonMeasurement } from './daemon-memory.js';
import type { Scenario } from './options.js';
import type { StartupMeasurement } from './startup-time.js';

/** One scenario side by side: certkeeper's issue run, certbot (measured or extrapolated), the floor. */
export interface SideBySide {
  scenario: Scenario;
  certkeeper?: CertkeeperMeasurement;
  certbot?: CertbotMeasurement;
  /** certbot's time for the scenario's N: measured, or its per-certificate time × N when it ran fewer. */
  certbotSeconds?: number;
  certbotExtrapolated?: boolean;
  floor?: FloorMeasurement;
  /** The floor for the scenario: the orders with validation skipped, plus one INSYNC wait (the longest) when Route 53 is not instant. */
  floorSeconds?: number;
}

export function markdownTable(header: string[], rows: string[][]): string {
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

const seconds = (value: number | undefined, digits = 1) => (value === undefined ? '-' : `${value.toFixed(digits)}`);
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? '-' : `${(a / b).toFixed(1)}×`);

export function sideBySideTable(rows: SideBySide[]): string {
  const header = [
    'scenario',
    'N',
    'certkeeper s',
    'certbot s',
    'ACME floor s',
    'certkeeper / floor',
    'certbot / certkeeper',
    'peak MB: certkeeper, certbot (python), floor (node)',
  ];
  return markdownTable(
    header,
    rows.map((row) => {
      const ck = row.certkeeper && row.certkeeper.exitCode === 0 ? row.certkeeper.wallSeconds : undefined;
      const certbot =
        row.certbotSeconds === undefined
          ? '-'
          : row.certbotExtrapolated
            ? `${row.certbotSeconds.toFixed(0)} (extrapolated: ${row.certbot!.perCertificateSeconds.toFixed(1)} s × ${row.scenario.certificates}, measured at N=${row.certbot!.certificates})`
            : `${row.certbotSeconds.toFixed(1)} (${row.certbot!.perCertificateSeconds.toFixed(2)} s each)`;
      const floorNote = row.floor && row.scenario.insyncMs[1] > 0 ? ` (${row.floor.wallSeconds.toFixed(2)} + ${row.scenario.insyncMs[1] / 1000} INSYNC)` : '';
      return [
        row.scenario.label,
        String(row.scenario.certificates),
        ck === undefined ? (row.certkeeper ? `failed (exit ${row.certkeeper.exitCode})` : '-') : seconds(ck),
        row.certbot && row.certbot.failed > 0 ? `${certbot}, ${row.certbot.failed} failed` : certbot,
        row.floorSeconds === undefined ? '-' : `${seconds(row.floorSeconds, 2)}${floorNote}`,
        ratio(ck, row.floorSeconds),
        ratio(row.certbotSeconds, ck),
        [row.certkeeper?.peakMemoryMB, row.certbot?.peakMemoryMB, row.floor?.peakMemoryMB].map((mb) => (mb === undefined || mb === null ? '-' : String(mb))).join(', '),
      ];
    }),
  );
}

/** Today's per-run columns for certkeeper: Route 53, the changes per zone, ACME and other AWS calls, peak memory, outcome. */
export function certkeeperTable(results: CertkeeperMeasurement[]): string {
  const short = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([key, n]) => `${key.replace(/^[a-z0-9-]+ /, '')} ${n}`)
      .join(', ');
  const header = ['certkeeper run', 'N', 'wall s', 'Route 53 calls (throttled)', 'changes per zone: present / cleanup', 'ACME requests', 'AWS calls (other)', 'peak MB', 'result'];
  return markdownTable(
    header,
    results.map((r) => [
      r.scenario,
      String(r.certificates),
      r.wallSeconds.toFixed(1),
      `${r.route53.calls} (${r.route53.throttled})`,
      changesPerZone(r.route53.changesByZone),
      String(r.acmeRequests.total),
      `${r.aws.total}: ${short(r.aws.byAction)}`,
      String(r.peakMemoryMB ?? '-'),
      `${
        Object.entries(r.outcome)
          .map(([key, n]) => `${key} ${n}`)
          .join(', ') || '-'
      }${r.exitCode === 0 ? '' : ` (exit ${r.exitCode})`}${r.throttlingSurfaced ? `, ${r.throttlingSurfaced} throttling surfaced` : ''}`,
    ]),
  );
}

/** "1 / 1 in 5 zones" when every zone took the same, else each zone's figures. */
function changesPerZone(byZone: Record<string, Record<string, number>>): string {
  const zones = Object.entries(byZone).sort(([a], [b]) => a.localeCompare(b));
  if (zones.length === 0) return '-';
  const cell = (kinds: Record<string, number>) => `${kinds.present ?? 0} / ${kinds.cleanup ?? 0}${kinds.mixed ? ` (+${kinds.mixed} mixed)` : ''}`;
  const cells = zones.map(([, kinds]) => cell(kinds));
  return cells.every((text) => text === cells[0]) ? `${cells[0]} in ${zones.length} zones` : zones.map(([zone, kinds]) => `${zone.split('.')[0]} ${cell(kinds)}`).join('; ');
}

export function processTable(daemon: DaemonMeasurement | undefined, startup: StartupMeasurement | undefined): string {
  const rows: string[][] = [];
  const shown = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(3)} s`);
  if (startup) {
    rows.push([`\`certkeeper --help\` start-up (median of ${startup.runs})`, shown(startup.helpSeconds)]);
    rows.push([
      `\`certkeeper --version\` start-up (median of ${startup.runs})`,
      startup.versionSeconds === null ? 'n/a (this build has no --version)' : `${shown(startup.versionSeconds)} (${startup.version})`,
    ]);
    rows.push([`\`node -e ''\` (reference, median of ${startup.runs})`, shown(startup.nodeSeconds)]);
  }
  if (daemon) {
    rows.push([`idle \`run\` daemon RSS after its first pass (${daemon.certificates} certificates issued)`, `${daemon.idleAfterFirstPassMB} MB`]);
    rows.push([`idle \`run\` daemon RSS after ${daemon.passes} passes ('${daemon.cron}' for ${daemon.dayMinutes} min)`, `${daemon.idleAfterDayMB} MB (peak ${daemon.peakMB} MB)`]);
  }
  return rows.length ? markdownTable(['process', 'measured'], rows) : '';
}
