/**
 * `npm run bench`: certkeeper side by side with certbot and the ACME floor, on the local stack (Pebble
 * behind the ARI double, moto, the DNS server) with Route 53 made to behave like the real one by the
 * faithful layer (5 requests/s answered with Throttling beyond that; changes PENDING until INSYNC). A
 * script, not a test: it measures and reports, and exits non-zero only when a run did not work.
 *
 * Same requests for every client: N certificates over 5 zones, two names each, every fourth a wildcard
 * and its apex. Scenarios: N = 30 with INSYNC instant, and N = 100 with INSYNC after 30 s.
 * - certkeeper: `renew` issuing them, importing into ACM and binding each to an HTTPS listener (SNI);
 *   today's columns (Route 53 calls and throttled, changes per zone, ACME requests, AWS calls, peak MB).
 * - certbot 2.1 + certbot-dns-route53 (Debian): one `certbot certonly` process per certificate, as
 *   cron runs it, writing files only; at N = 100 only a few, its time per certificate extrapolated.
 * - the ACME floor: a Pebble of its own validating nothing, acme-client ordering the N back to back.
 * Then: the idle `run` daemon's RSS after its first pass and after a day of passes (a cron every 5 s),
 * start-up of `--help` and `--version`, and `status` over 1,000 managed certificates, cold and warm.
 *
 *   npm run bench -- [--quick] [--only certkeeper,certbot,floor,daemon,startup,status] [--n 30] [--n-faithful 100]
 *     [--insync 30] [--rps 5] [--certbot-n 30] [--certbot-n-faithful 3] [--status-certs 1000] [--concurrency N]
 *     [--certkeeper-config-extra JSON] [--day-minutes 5] [--daemon-certs 10] [--startup-runs 10]
 *     [--out FILE] [--bin PATH] [--logs DIR]
 *
 * --bin: the certkeeper launcher to measure (default this checkout's bin/certkeeper). --logs: keep each
 * run's log there. --quick: N = 10 and 10, INSYNC 2 s, certbot 10 and 1, a 1-minute day, status over 100.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The AWS SDK's multi-line Node 20 notice is noise here; set before the SDK loads.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const { awsFixtures } = await import('../stack/aws-fixtures.js');
const { startStack } = await import('../stack/stack.js');
const { CERTKEEPER_BIN } = await import('../e2e/cli.js');
const { startRoute53Faithful } = await import('../stack/route53-faithful.js');
const { startAcmeCounter, startAwsCounter } = await import('../stack/request-counters.js');
const { parseOptions } = await import('./options.js');
const { fleet, ZONES } = await import('./fleet.js');
const { measureCertkeeper, writeBenchConfig } = await import('./certkeeper-run.js');
const { measureCertbot } = await import('./certbot-run.js');
const { measureFloor } = await import('./acme-floor.js');
const { measureDaemon } = await import('./daemon-memory.js');
const { measureStartup } = await import('./startup-time.js');
const { importStatusFleet } = await import('./status-fleet.js');
const { certkeeperTable, processTable, sideBySideTable } = await import('./report-table.js');
type BenchStack = import('./bench-stack.js').BenchStack;
type BenchCertificate = import('./fleet.js').BenchCertificate;
type CertkeeperMeasurement = import('./certkeeper-run.js').CertkeeperMeasurement;
type SideBySide = import('./report-table.js').SideBySide;

const here = dirname(fileURLToPath(import.meta.url));
/** An ALB listener takes 25 certificates (moto enforces it as AWS does): the default and 24 by SNI. */
const SNI_PER_LISTENER = 24;

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2), { bin: CERTKEEPER_BIN, out: join(here, 'results.json') });
  const wants = (part: Parameters<typeof options.parts.has>[0]) => options.parts.has(part);
  process.stdout.write(
    `certkeeper bench (${options.bin}): ${[...options.parts].join(', ')}; ${options.scenarios.map((s) => `N=${s.certificates} ${s.label}`).join('; ')}; ` +
      `${options.requestsPerSecond} Route 53 requests/s; concurrency ${options.concurrency ?? "certkeeper's default"}` +
      `${Object.keys(options.configExtra).length ? `; config extra ${JSON.stringify(options.configExtra)}` : ''}\n`,
  );
  const work = mkdtempSync(join(tmpdir(), 'certkeeper-bench-'));
  const needsListeners = wants('certkeeper') || wants('daemon');
  // Every order validates its challenges (no authorization reuse): renewing measures the DNS work again.
  // No badNonce at random: certbot 2.1 crashes on two in a row.
  const stack = await startStack({ acmeProxy: true, preloadEc2: needsListeners, pebble: { env: { PEBBLE_AUTHZREUSE: '0', PEBBLE_WFE_NONCEREJECT: '0' } } });
  const route53 = await startRoute53Faithful(stack.motoEndpoint, { requestsPerSecond: options.requestsPerSecond });
  const awsCounter = await startAwsCounter(stack.motoEndpoint);
  const acmeCounter = await startAcmeCounter(stack.directoryUrl, { certPath: stack.pebble.serverCertPath, keyPath: stack.pebble.serverKeyPath, caPath: stack.caCertPath });
  const bench: BenchStack = { stack, route53, awsCounter, acmeCounter, zoneNames: new Map(), work, logs: options.logs };
  const aws = awsFixtures(stack.motoEndpoint);
  const problems: string[] = [];
  const certkeeperRuns: CertkeeperMeasurement[] = [];
  const sideBySide: SideBySide[] = [];
  let daemon: Awaited<ReturnType<typeof measureDaemon>> | undefined;
  let startup: Awaited<ReturnType<typeof measureStartup>> | undefined;
  /** Runs one part; a part that throws is reported and the others still run. */
  const attempt = async <T>(label: string, work: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await work();
    } catch (error) {
      const message = `${label}: ${error instanceof Error ? error.message : String(error)}`;
      problems.push(message);
      process.stdout.write(`\n  ${message}\n`);
      return undefined;
    }
  };
  const certkeeperRun = async (scenario: string, certificates: number, args: string[]) => {
    const measurement = await measureCertkeeper(bench, options.bin, scenario, certificates, args);
    certkeeperRuns.push(measurement);
    if (measurement.exitCode !== 0) problems.push(`certkeeper ${scenario} (${certificates}): exit ${measurement.exitCode}`);
    return measurement;
  };
  /** The certificates as certkeeper is asked for them: imported into ACM, bound by SNI to listeners of 24 at most. */
  const certkeeperSpecs = async (prefix: string, certificates: BenchCertificate[]) => {
    const listeners = await Promise.all(
      Array.from({ length: Math.ceil(certificates.length / SNI_PER_LISTENER) }, (_, i) => aws.createHttpsListener({ name: `bench-${prefix}-${i}` })),
    );
    return certificates.map((certificate, i) => ({
      name: certificate.name,
      domains: certificate.domains,
      acm: [{ region: 'us-east-1', listeners: [{ arn: listeners[i % listeners.length]!.listenerArn, mode: 'sni' }] }],
    }));
  };

  let issued: { stateDir: string; names: string[] } | undefined;
  try {
    for (const zone of ZONES) bench.zoneNames.set(await aws.createHostedZone(zone), zone);

    if (wants('startup')) startup = await attempt('start-up', () => measureStartup(options.bin, options.startupRuns));
    if (startup && startup.helpSeconds === null) problems.push('start-up: `certkeeper --help` failed');

    for (const [index, scenario] of options.scenarios.entries()) {
      process.stdout.write(`${scenario.label}, N=${scenario.certificates}:\n`);
      route53.configure({ insyncAfterMs: scenario.insyncMs, requestsPerSecond: options.requestsPerSecond });
      const prefix = `s${index}n${scenario.certificates}`;
      const certificates = fleet(prefix, scenario.certificates);
      const row: SideBySide = { scenario };
      sideBySide.push(row);
      if (wants('certkeeper')) {
        await attempt(`certkeeper ${scenario.label}`, async () => {
          const stateDir = join(work, `state-${prefix}`);
          const config = writeBenchConfig(bench, `${prefix}.config.ts`, {
            stateDir,
            concurrency: options.concurrency,
            certificates: await certkeeperSpecs(prefix, certificates),
            extra: options.configExtra,
          });
          row.certkeeper = await certkeeperRun(`issue, ${scenario.label}`, scenario.certificates, ['renew', '--json', '--config', config]);
          if (row.certkeeper.exitCode === 0) issued = { stateDir, names: certificates.map((certificate) => certificate.name) };
        });
      }
      if (wants('certbot') && scenario.certbotCertificates > 0) {
        await attempt(`certbot ${scenario.label}`, async () => {
          row.certbot = await measureCertbot(bench, scenario.label, certificates.slice(0, scenario.certbotCertificates));
          if (row.certbot.failed > 0) problems.push(`certbot ${scenario.label}: ${row.certbot.failed} of ${row.certbot.certificates} failed`);
          row.certbotExtrapolated = row.certbot.certificates < scenario.certificates;
          row.certbotSeconds = row.certbotExtrapolated ? row.certbot.perCertificateSeconds * scenario.certificates : row.certbot.wallSeconds;
        });
      }
      if (wants('floor')) {
        await attempt(`ACME floor ${scenario.label}`, async () => {
          row.floor = await measureFloor(stack.dnsPort, certificates);
          row.floorSeconds = row.floor.wallSeconds + scenario.insyncMs[1] / 1000;
        });
      }
    }

    route53.configure({ insyncAfterMs: 0, requestsPerSecond: options.requestsPerSecond });
    if (wants('daemon')) {
      daemon = await attempt('daemon', async () => {
        const certificates = fleet('daemon', options.daemonCertificates);
        const config = writeBenchConfig(bench, 'daemon.config.ts', {
          stateDir: join(work, 'state-daemon'),
          concurrency: options.concurrency,
          schedule: { cron: options.daemonCron, jitterSeconds: 0 },
          certificates: await certkeeperSpecs('daemon', certificates),
          extra: options.configExtra,
        });
        return measureDaemon(bench, options.bin, config, { certificates: certificates.length, cron: options.daemonCron, dayMs: options.daemonDayMs });
      });
      if (daemon && (daemon.exitCode !== 0 || daemon.failedPasses > 0)) problems.push(`daemon: exit ${daemon.exitCode}, ${daemon.failedPasses} passes with failures`);
    }

    if (wants('status') && options.statusCertificates > 0) {
      await attempt('status', async () => {
        if (!issued) {
          // status needs certificates of this CA to copy: issue a few (not part of the comparison).
          const certificates = fleet('status-source', 4);
          const stateDir = join(work, 'state-status-source');
          const config = writeBenchConfig(bench, 'status-source.config.ts', {
            stateDir,
            concurrency: options.concurrency,
            certificates: certificates.map(({ name, domains }) => ({ name, domains, acm: [{ region: 'us-east-1' }] })),
            extra: options.configExtra,
          });
          const source = await certkeeperRun('issue (status source)', certificates.length, ['renew', '--json', '--config', config]);
          if (source.exitCode !== 0) throw new Error('could not issue the certificates the status fleet copies');
          issued = { stateDir, names: certificates.map((certificate) => certificate.name) };
        }
        process.stdout.write(`  importing ${options.statusCertificates} managed certificates… `);
        const importStarted = Date.now();
        const specs = await importStatusFleet((region) => aws.acm(region), issued, options.statusCertificates);
        process.stdout.write(`${((Date.now() - importStarted) / 1000).toFixed(1)} s\n`);
        const config = writeBenchConfig(bench, 'status.config.ts', {
          stateDir: join(work, 'state-status'),
          concurrency: options.concurrency,
          certificates: specs,
          extra: options.configExtra,
        });
        await certkeeperRun('status (cold)', specs.length, ['status', '--json', '--config', config]);
        await certkeeperRun('status (warm)', specs.length, ['status', '--json', '--config', config]);
      });
    }
  } finally {
    await Promise.all([route53.stop(), awsCounter.stop(), acmeCounter.stop()]);
    await stack.stop();
    rmSync(work, { recursive: true, force: true });
  }

  const throttlingSurfaced = certkeeperRuns.reduce((total, run) => total + run.throttlingSurfaced, 0);
  if (throttlingSurfaced > 0) problems.push(`${throttlingSurfaced} Throttling/PriorRequestNotComplete reached certkeeper's output`);
  const report = {
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown', memoryGB: Math.round(totalmem() / 2 ** 30), node: process.version },
    settings: {
      parts: [...options.parts],
      scenarios: options.scenarios,
      route53RequestsPerSecond: options.requestsPerSecond,
      concurrency: options.concurrency ?? null,
      certkeeperConfigExtra: options.configExtra,
      zones: ZONES.length,
      bin: options.bin,
      route53Layer: 'test/stack/route53-faithful.ts',
    },
    sideBySide,
    certkeeper: certkeeperRuns,
    daemon: daemon ?? null,
    startup: startup ?? null,
    throttlingSurfaced,
    problems,
  };
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, `${JSON.stringify(report, null, 2)}\n`);
  const sections = [
    sideBySide.length && (wants('certkeeper') || wants('certbot') || wants('floor')) ? sideBySideTable(sideBySide) : '',
    certkeeperRuns.length ? certkeeperTable(certkeeperRuns) : '',
    processTable(daemon, startup),
    certkeeperRuns.length ? `Throttling or PriorRequestNotComplete that reached certkeeper's output: ${throttlingSurfaced} (over ${certkeeperRuns.length} runs)` : '',
    problems.length ? `Runs that did not work:\n${problems.map((problem) => `  - ${problem}`).join('\n')}` : '',
  ].filter(Boolean);
  process.stdout.write(`\n${sections.join('\n\n')}\nJSON: ${options.out}\n`);
  if (problems.length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
