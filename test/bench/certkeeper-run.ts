import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEvents } from '../e2e/cli.js';
import { writeConfigFile } from '../e2e/config-file.js';
import { route53Since, sum, tally, type BenchStack, type Route53Counts } from './bench-stack.js';
import { mergeConfig } from './options.js';
import { lastLines, runProcess } from './run-process.js';

const here = dirname(fileURLToPath(import.meta.url));

/** One certkeeper command measured: the columns of today's bench. */
export interface CertkeeperMeasurement {
  scenario: string;
  certificates: number;
  exitCode: number | null;
  wallSeconds: number;
  /** `changesByZone`: per hosted zone name, the changes Route 53 took that only added values (present), only removed them (cleanup), or both (mixed). */
  route53: Route53Counts;
  acmeRequests: { total: number; byKind: Record<string, number> };
  aws: { total: number; byService: Record<string, number>; byAction: Record<string, number> };
  peakMemoryMB: number | null;
  outcome: Record<string, number>;
  /** Throttling / PriorRequestNotComplete that reached certkeeper's log or output (should be 0). */
  throttlingSurfaced: number;
  /** Each `renewal.failed` event's certificate and error, so a failed renewal says why. */
  failures: { certificate: string; error: string }[];
}

/** The environment of a certkeeper process on the bench stack: AWS through the counter, Route 53 through the faithful layer, peak RSS reported. */
export function certkeeperEnv(bench: BenchStack): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...bench.stack.env,
    AWS_ENDPOINT_URL: bench.awsCounter.url,
    AWS_ENDPOINT_URL_ROUTE_53: bench.route53.url,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(here, 'report-peak-memory.cjs')}`.trim(),
  };
}

/** A bench config: the stack's CA through the ACME counter, the certificates, `concurrency` only when asked, then --certkeeper-config-extra over it. */
export function writeBenchConfig(
  bench: BenchStack,
  file: string,
  fields: { stateDir: string; certificates: unknown[]; concurrency?: number; extra: Record<string, unknown>; [key: string]: unknown },
): string {
  const { extra, concurrency, ...rest } = fields;
  const base: Record<string, unknown> = { ...rest, ...(concurrency === undefined ? {} : { concurrency }) };
  // writeConfigFile puts `acme` and `aws` defaults first; the extra's keys merge over what the bench sets.
  const { acme, ...others } = mergeConfig({ aws: { region: 'us-east-1' }, ...base }, extra);
  return writeConfigFile(join(bench.work, file), bench.acmeCounter.url, {
    ...(others as { stateDir: string; certificates: unknown[] }),
    acme: acme as Record<string, unknown> | undefined,
  });
}

/** Runs one certkeeper command and measures it; prints a line, and the reasons when it failed. */
export async function measureCertkeeper(bench: BenchStack, bin: string, scenario: string, certificates: number, args: string[]): Promise<CertkeeperMeasurement> {
  process.stdout.write(`  certkeeper ${scenario} (${certificates})… `);
  const rssFile = join(bench.work, `rss-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  bench.awsCounter.reset();
  bench.acmeCounter.reset();
  const route53Before = bench.route53.calls.length;
  const { code, stdout, stderr, wallSeconds } = await runProcess(bin, args, { ...certkeeperEnv(bench), CERTKEEPER_BENCH_MAXRSS_FILE: rssFile });
  if (bench.logs) {
    mkdirSync(bench.logs, { recursive: true });
    writeFileSync(join(bench.logs, `certkeeper-${scenario.replace(/\W+/g, '-')}-${certificates}.log`), stderr);
  }
  const awsCounts = bench.awsCounter.counts();
  const acmeCounts = bench.acmeCounter.counts();
  let events: ReturnType<typeof parseEvents> = [];
  try {
    events = parseEvents(stderr);
  } catch {
    // A line that is not JSON: counted as a failed run below through the exit code or the outcome.
  }
  const outcome: Record<string, number> = {};
  for (const event of events) if (['renewal.succeeded', 'renewal.failed', 'deploy.not_served'].includes(event.event)) outcome[event.event] = (outcome[event.event] ?? 0) + 1;
  if (args[0] === 'status' && code === 0) {
    const rows = JSON.parse(stdout) as { action: string; error?: string }[];
    for (const row of rows) {
      const key = row.error ? 'error' : `action:${row.action}`;
      outcome[key] = (outcome[key] ?? 0) + 1;
    }
  }
  const measurement: CertkeeperMeasurement = {
    scenario,
    certificates,
    exitCode: code,
    wallSeconds,
    route53: route53Since(bench, route53Before),
    acmeRequests: { total: sum(acmeCounts), byKind: acmeCounts },
    aws: { total: sum(awsCounts), byService: tally(Object.entries(awsCounts).flatMap(([key, n]) => Array<string>(n).fill(key.split(' ')[0]!))), byAction: awsCounts },
    peakMemoryMB: readPeakMemoryMB(rssFile),
    outcome,
    throttlingSurfaced: (stdout + stderr).match(/Throttling|Rate exceeded|PriorRequestNotComplete/g)?.length ?? 0,
    failures: events.filter((event) => event.event === 'renewal.failed').map((event) => ({ certificate: String(event.certificate), error: String(event.error) })),
  };
  process.stdout.write(`${wallSeconds.toFixed(1)} s, exit ${code}\n`);
  const zoneLines = Object.entries(measurement.route53.changesByZone)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([zone, kinds]) =>
        `${zone} ${Object.entries(kinds)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ')}`,
    );
  if (zoneLines.length > 0) process.stdout.write(`    Route 53 changes by zone: ${zoneLines.join('; ')}\n`);
  for (const failure of measurement.failures) process.stdout.write(`    renewal.failed ${failure.certificate}: ${failure.error}\n`);
  if (code !== 0) process.stdout.write(`    certkeeper failed; last log lines:\n${lastLines(stderr)}\n`);
  return measurement;
}

function readPeakMemoryMB(file: string): number | null {
  try {
    return Math.round(Number(readFileSync(file, 'utf8')) / 1024);
  } catch {
    return null;
  }
}
