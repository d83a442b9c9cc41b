/**
 * `npm run bench`: how certkeeper does at fleet scale on the local stack (Pebble behind the ARI double,
 * moto, the DNS server), with Route 53 made to behave like the real one by the faithful layer (changes
 * PENDING for 20-60 s, 5 requests/s answered with Throttling beyond that). A script, not a test: it
 * measures and reports, it asserts nothing but that the runs worked.
 *
 * Measured per scenario (each one real `bin/certkeeper` process): wall time, Route 53 calls by action
 * and how many were throttled, ACME requests (a counting forwarder in front of the CA), AWS calls per
 * service and action (a counting forwarder in front of moto), and the process's peak memory.
 * Scenarios: issue then `renew --force` N certificates (N = 1, 10, 100: 5 zones, 2 names each, every
 * fourth a wildcard + apex pair), and `status` over 1,000 managed certificates of which none is due
 * (a cold pass with an empty state directory, then a warm one).
 *
 *   npm run bench -- [--n 1,10,100] [--insync 20-60] [--rps 5] [--status-certs 1000] [--concurrency 4] [--quick] [--out FILE] [--bin PATH] [--logs DIR]
 *
 * --bin: the certkeeper launcher to measure (default this checkout's bin/certkeeper), e.g. another
 * worktree's, to compare two builds on the same harness and machine. --logs: keep each run's log there.
 * --quick: INSYNC after 1-2 s, N = 1,10, 100 status certificates: a few minutes.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The AWS SDK's multi-line Node 20 notice is noise here; set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { GetCertificateCommand, ImportCertificateCommand } = await import('@aws-sdk/client-acm');
const { awsFixtures } = await import('../stack/aws-fixtures.js');
const { startStack } = await import('../stack/stack.js');
const { writeConfigFile } = await import('../e2e/config-file.js');
const { parseEvents, CERTKEEPER_BIN } = await import('../e2e/cli.js');
const { startRoute53Faithful } = await import('../stack/route53-faithful.js');
const { startAcmeCounter, startAwsCounter } = await import('../stack/request-counters.js');
const { mapWithConcurrency } = await import('../../src/util/map-with-concurrency.js');

const here = dirname(fileURLToPath(import.meta.url));
const ZONES = 5;

interface Options {
  sizes: number[];
  insyncMs: [number, number];
  requestsPerSecond: number;
  statusCertificates: number;
  /** The config's `concurrency` (certkeeper's default unless --concurrency). */
  concurrency: number;
  out: string;
  bin: string;
  /** A folder to keep each run's certkeeper log in (stderr, JSON lines), or none. */
  logs?: string;
}

interface Measurement {
  scenario: string;
  certificates: number;
  exitCode: number | null;
  wallSeconds: number;
  /** `changesByZone`: per hosted zone name, the changes Route 53 took that only added values (present), only removed them (cleanup), or both (mixed). */
  route53: { calls: number; throttled: number; byAction: Record<string, number>; changesByZone: Record<string, Record<string, number>> };
  acmeRequests: { total: number; byKind: Record<string, number> };
  aws: { total: number; byService: Record<string, number>; byAction: Record<string, number> };
  peakMemoryMB: number | null;
  outcome: Record<string, number>;
  /** Throttling / PriorRequestNotComplete that reached certkeeper's log or output (should be 0). */
  throttlingSurfaced: number;
  /** Each `renewal.failed` event's certificate and error, so a failed renewal says why. */
  failures: { certificate: string; error: string }[];
}

function parseOptions(argv: string[]): Options {
  const value = (flag: string) => {
    const index = argv.indexOf(flag);
    return index >= 0 ? argv[index + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const insync = (value('--insync') ?? (quick ? '1-2' : '20-60')).split('-').map((part) => Number(part) * 1000);
  const options: Options = {
    sizes: (value('--n') ?? (quick ? '1,10' : '1,10,100')).split(',').map(Number),
    insyncMs: [insync[0]!, insync[1] ?? insync[0]!],
    requestsPerSecond: Number(value('--rps') ?? 5),
    statusCertificates: Number(value('--status-certs') ?? (quick ? 100 : 1000)),
    concurrency: Number(value('--concurrency') ?? 4),
    out: value('--out') ?? join(here, 'results.json'),
    bin: value('--bin') ?? CERTKEEPER_BIN,
    logs: value('--logs'),
  };
  const bad = [...options.sizes, ...options.insyncMs, options.requestsPerSecond, options.statusCertificates].some((n) => !Number.isFinite(n) || n < 0);
  if (bad || options.sizes.some((n) => n < 1) || !(options.concurrency >= 1)) {
    throw new Error('usage: npm run bench -- [--n 1,10,100] [--insync 20-60] [--rps 5] [--status-certs 1000] [--concurrency 4] [--quick] [--out FILE] [--bin PATH] [--logs DIR]');
  }
  return options;
}

/** N certificates over the zones, two names each; every fourth is a wildcard and its apex (one challenge name, two values). */
function fleet(prefix: string, count: number, zones: string[]): { name: string; domains: string[]; acm: { region: string }[] }[] {
  return Array.from({ length: count }, (_, i) => {
    const zone = zones[i % zones.length]!;
    const base = `${prefix}-${i}.${zone}`;
    const domains = i % 4 === 3 ? [base, `*.${base}`] : [`a.${base}`, `b.${base}`];
    return { name: `${prefix}-${i}`, domains, acm: [{ region: 'us-east-1' }] };
  });
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const work = mkdtempSync(join(tmpdir(), 'certkeeper-bench-'));
  process.stdout.write(
    `certkeeper bench (${options.bin}): N=${options.sizes.join(',')}, INSYNC ${options.insyncMs.map((ms) => ms / 1000).join('-')} s, ${options.requestsPerSecond} Route 53 requests/s, concurrency ${options.concurrency}, status over ${options.statusCertificates}\n`,
  );
  // Every order validates its challenges (no authorization reuse): renewing measures the DNS work again.
  const stack = await startStack({ acmeProxy: true, pebble: { env: { PEBBLE_AUTHZREUSE: '0' } } });
  const route53 = await startRoute53Faithful(stack.motoEndpoint, { insyncAfterMs: options.insyncMs, requestsPerSecond: options.requestsPerSecond });
  const awsCounter = await startAwsCounter(stack.motoEndpoint);
  const acmeCounter = await startAcmeCounter(stack.directoryUrl, { certPath: stack.pebble.serverCertPath, keyPath: stack.pebble.serverKeyPath, caPath: stack.caCertPath });
  const results: Measurement[] = [];
  try {
    const aws = awsFixtures(stack.motoEndpoint);
    const zones = Array.from({ length: ZONES }, (_, i) => `zone${i + 1}.bench.test`);
    const zoneNames = new Map<string, string>();
    for (const zone of zones) zoneNames.set(await aws.createHostedZone(zone), zone);
    const env = {
      ...stack.env,
      AWS_ENDPOINT_URL: awsCounter.url,
      AWS_ENDPOINT_URL_ROUTE_53: route53.url,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(here, 'report-peak-memory.cjs')}`.trim(),
    };

    const run = async (scenario: string, certificates: number, args: string[]): Promise<Measurement> => {
      process.stdout.write(`  ${scenario} (${certificates})… `);
      const rssFile = join(work, `rss-${results.length}`);
      awsCounter.reset();
      acmeCounter.reset();
      const route53Before = route53.calls.length;
      const started = Date.now();
      const { code, stdout, stderr } = await runCertkeeper(options.bin, args, { ...env, CERTKEEPER_BENCH_MAXRSS_FILE: rssFile });
      const wallSeconds = (Date.now() - started) / 1000;
      if (options.logs) {
        mkdirSync(options.logs, { recursive: true });
        writeFileSync(join(options.logs, `${results.length + 1}-${scenario.replace(/\W+/g, '-')}-${certificates}.log`), stderr);
      }
      const r53 = route53.calls.slice(route53Before);
      const awsCounts = awsCounter.counts();
      const acmeCounts = acmeCounter.counts();
      const events = parseEvents(stderr);
      const outcome: Record<string, number> = {};
      for (const event of events) if (['renewal.succeeded', 'renewal.failed', 'deploy.not_served'].includes(event.event)) outcome[event.event] = (outcome[event.event] ?? 0) + 1;
      if (args[0] === 'status') {
        const rows = JSON.parse(stdout) as { action: string; error?: string }[];
        for (const row of rows) outcome[row.error ? 'error' : `action:${row.action}`] = (outcome[row.error ? 'error' : `action:${row.action}`] ?? 0) + 1;
      }
      const measurement: Measurement = {
        scenario,
        certificates,
        exitCode: code,
        wallSeconds,
        route53: {
          calls: r53.length,
          throttled: r53.filter((call) => call.throttled).length,
          byAction: tally(r53.map((call) => call.action)),
          changesByZone: changesByZone(r53, zoneNames),
        },
        acmeRequests: { total: sum(acmeCounts), byKind: acmeCounts },
        aws: { total: sum(awsCounts), byService: tally(Object.entries(awsCounts).flatMap(([key, n]) => Array(n).fill(key.split(' ')[0]))), byAction: awsCounts },
        peakMemoryMB: readPeakMemoryMB(rssFile),
        outcome,
        throttlingSurfaced: (stdout + stderr).match(/Throttling|Rate exceeded|PriorRequestNotComplete/g)?.length ?? 0,
        failures: events.filter((event) => event.event === 'renewal.failed').map((event) => ({ certificate: String(event.certificate), error: String(event.error) })),
      };
      results.push(measurement);
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
      if (code !== 0)
        process.stdout.write(
          `    certkeeper failed; last log lines:\n${stderr
            .trim()
            .split('\n')
            .slice(-5)
            .map((line) => `      ${line}`)
            .join('\n')}\n`,
        );
      return measurement;
    };

    let issued: { stateDir: string; names: string[] } | undefined;
    for (const n of options.sizes) {
      const stateDir = join(work, `state-n${n}`);
      const certificates = fleet(`n${n}`, n, zones);
      const config = writeConfigFile(join(work, `n${n}.config.ts`), acmeCounter.url, { stateDir, concurrency: options.concurrency, certificates });
      await run('issue', n, ['renew', '--json', '--config', config]);
      await run('renew --force', n, ['renew', '--force', '--reason', 'bench', '--json', '--config', config]);
      issued = { stateDir, names: certificates.map((spec) => spec.name) };
    }

    if (options.statusCertificates > 0) {
      if (!issued) throw new Error('status needs certificates issued first: give --n');
      process.stdout.write(`  importing ${options.statusCertificates} managed certificates… `);
      const importStarted = Date.now();
      const fleetSpecs = await importFleet(aws.acm(), issued, options.statusCertificates);
      process.stdout.write(`${((Date.now() - importStarted) / 1000).toFixed(1)} s\n`);
      const stateDir = join(work, 'state-status');
      const config = writeConfigFile(join(work, 'status.config.ts'), acmeCounter.url, { stateDir, concurrency: options.concurrency, certificates: fleetSpecs });
      await run('status (cold)', fleetSpecs.length, ['status', '--json', '--config', config]);
      await run('status (warm)', fleetSpecs.length, ['status', '--json', '--config', config]);
    }
  } finally {
    await Promise.all([route53.stop(), awsCounter.stop(), acmeCounter.stop()]);
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const report = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: {
      insyncSeconds: options.insyncMs.map((ms) => ms / 1000),
      route53RequestsPerSecond: options.requestsPerSecond,
      concurrency: options.concurrency,
      zones: ZONES,
      bin: options.bin,
      route53Layer: 'test/stack/route53-faithful.ts',
    },
    results,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`\n${renderTable(results)}\nJSON: ${options.out}\n`);
  if (results.some((result) => result.exitCode !== 0)) process.exitCode = 1;
}

/**
 * The status fleet: the certificates certkeeper just issued, imported again and again with the
 * owner tags of `fleet-I`. moto does not check that a key matches its certificate (real ACM does), so
 * one throwaway key serves every import; status never reads keys. The CA double knows these
 * certificates, so ARI answers for each, with a window far off: none is due.
 */
async function importFleet(acm: ReturnType<ReturnType<typeof awsFixtures>['acm']>, issued: { stateDir: string; names: string[] }, count: number) {
  const sources = await Promise.all(
    issued.names.map(async (name) => {
      const record = JSON.parse(readFileSync(join(issued.stateDir, 'certificates', `${name}.json`), 'utf8')) as { acm: Record<string, string> };
      const answer = await acm.send(new GetCertificateCommand({ CertificateArn: record.acm['us-east-1'] }));
      const domains = new X509Certificate(answer.Certificate!).subjectAltName!.split(', ').map((entry) => entry.replace(/^DNS:/, ''));
      return { certificate: answer.Certificate!, chain: answer.CertificateChain, domains };
    }),
  );
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  const specs = Array.from({ length: count }, (_, i) => ({ name: `fleet-${i}`, source: sources[i % sources.length]! }));
  await mapWithConcurrency(specs, 20, ({ name, source }) =>
    acm.send(
      new ImportCertificateCommand({
        Certificate: Buffer.from(source.certificate),
        CertificateChain: source.chain ? Buffer.from(source.chain) : undefined,
        PrivateKey: Buffer.from(key),
        Tags: [
          { Key: 'certkeeper:name', Value: name },
          { Key: 'managed-by', Value: 'certkeeper' },
        ],
      }),
    ),
  );
  return specs.map(({ name, source }) => ({ name, domains: source.domains, acm: [{ region: 'us-east-1' }] }));
}

function runCertkeeper(bin: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(bin, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function readPeakMemoryMB(file: string): number | null {
  try {
    return Math.round(Number(readFileSync(file, 'utf8')) / 1024);
  } catch {
    return null;
  }
}

/** Per zone name, how many changes Route 53 took of each kind (present, cleanup, mixed). */
function changesByZone(calls: { zone?: string; change?: string }[], zoneNames: Map<string, string>): Record<string, Record<string, number>> {
  const byZone: Record<string, Record<string, number>> = {};
  for (const { zone, change } of calls) {
    if (!zone || !change) continue;
    const name = zoneNames.get(zone) ?? zone;
    byZone[name] = { ...byZone[name], [change]: (byZone[name]?.[change] ?? 0) + 1 };
  }
  return byZone;
}

function tally(keys: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const key of keys) counts[key] = (counts[key] ?? 0) + 1;
  return counts;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}

function renderTable(results: Measurement[]): string {
  const short = (counts: Record<string, number>) =>
    Object.entries(counts)
      .sort((a, b) => b[1] - a[1])
      .map(([key, n]) => `${key.replace(/^[a-z0-9-]+ /, '')} ${n}`)
      .join(', ');
  const header = ['scenario', 'N', 'wall s', 'Route 53 calls (throttled)', 'ACME requests', 'AWS calls (other)', 'peak MB', 'result'];
  const rows = results.map((r) => [
    r.scenario,
    String(r.certificates),
    r.wallSeconds.toFixed(1),
    `${r.route53.calls} (${r.route53.throttled})`,
    String(r.acmeRequests.total),
    `${r.aws.total}: ${short(r.aws.byAction)}`,
    String(r.peakMemoryMB ?? '-'),
    `${
      Object.entries(r.outcome)
        .map(([key, n]) => `${key} ${n}`)
        .join(', ') || '-'
    }${r.exitCode === 0 ? '' : ` (exit ${r.exitCode})`}`,
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
