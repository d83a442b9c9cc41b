import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { route53Since, sum, type BenchStack, type Route53Counts } from './bench-stack.js';
import type { BenchCertificate } from './fleet.js';
import { lastLines, runProcess } from './run-process.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Back-ports AWS_ENDPOINT_URL* to Debian's botocore 1.29, so certbot-dns-route53 talks to the stack. */
const ENDPOINT_SHIM = join(here, 'certbot-endpoint-shim');
export const CERTBOT_BINARY = process.env.CERTBOT_BINARY ?? 'certbot';
const TIME_BINARY = '/usr/bin/time';

export interface CertbotMeasurement {
  scenario: string;
  /** Certificates certbot ordered (one `certbot certonly` process each, one after the other, as cron runs them). */
  certificates: number;
  failed: number;
  wallSeconds: number;
  perCertificateSeconds: number;
  /** The largest peak RSS of the certbot (python) processes, from /usr/bin/time's %M. */
  peakMemoryMB: number | null;
  route53: Route53Counts;
  acmeRequests: number;
  version: string;
}

/**
 * certbot + certbot-dns-route53 ordering each certificate in a process of its own against the stack's CA
 * (through the ACME counter) and Route 53 (through the faithful layer), writing files only: no ACM, no
 * listener. Its state lives in a folder of the bench's; the first process registers the account.
 */
export async function measureCertbot(bench: BenchStack, scenario: string, certificates: BenchCertificate[]): Promise<CertbotMeasurement> {
  process.stdout.write(`  certbot ${scenario} (${certificates.length}, one process each)… `);
  const dir = join(bench.work, `certbot-${scenario.replace(/\W+/g, '-')}`);
  for (const sub of ['config', 'work', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dir,
    LANG: 'C.UTF-8',
    PYTHONPATH: ENDPOINT_SHIM,
    // The shim must not leave compiled bytecode in the checkout.
    PYTHONDONTWRITEBYTECODE: '1',
    REQUESTS_CA_BUNDLE: bench.stack.caCertPath,
    AWS_ACCESS_KEY_ID: bench.stack.env.AWS_ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: bench.stack.env.AWS_SECRET_ACCESS_KEY,
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: bench.awsCounter.url,
    AWS_ENDPOINT_URL_ROUTE_53: bench.route53.url,
  };
  const version = (await runProcess(CERTBOT_BINARY, ['--version'], env)).stdout.trim();
  bench.acmeCounter.reset();
  const route53Before = bench.route53.calls.length;
  let wallSeconds = 0;
  let peakKB = 0;
  let failed = 0;
  const logs: string[] = [];
  for (const certificate of certificates) {
    const rssFile = join(dir, `maxrss-${certificate.name}`);
    const args = [
      ...['-f', '%M', '-o', rssFile, CERTBOT_BINARY],
      ...['certonly', '--dns-route53', '--server', bench.acmeCounter.url],
      ...['--config-dir', join(dir, 'config'), '--work-dir', join(dir, 'work'), '--logs-dir', join(dir, 'logs')],
      ...['--agree-tos', '--register-unsafely-without-email', '--non-interactive', '--no-random-sleep-on-renew'],
      ...['--key-type', 'ecdsa', '--elliptic-curve', 'secp256r1', '--cert-name', certificate.name],
      ...certificate.domains.flatMap((domain) => ['-d', domain]),
    ];
    const result = await runProcess(TIME_BINARY, args, env, dir);
    wallSeconds += result.wallSeconds;
    logs.push(`### ${certificate.name}: exit ${result.code}, ${result.wallSeconds.toFixed(2)} s\n${result.stdout}${result.stderr}`);
    const rss = readMaxRssKB(rssFile);
    if (rss !== undefined) peakKB = Math.max(peakKB, rss);
    if (result.code !== 0) {
      failed++;
      process.stdout.write(`\n    certbot ${certificate.name} failed (exit ${result.code}):\n${lastLines(result.stderr, 8)}\n  `);
    }
  }
  if (bench.logs) {
    mkdirSync(bench.logs, { recursive: true });
    writeFileSync(join(bench.logs, `certbot-${scenario.replace(/\W+/g, '-')}-${certificates.length}.log`), logs.join('\n'));
  }
  process.stdout.write(`${wallSeconds.toFixed(1)} s, ${failed} failed\n`);
  return {
    scenario,
    certificates: certificates.length,
    failed,
    wallSeconds,
    perCertificateSeconds: wallSeconds / Math.max(1, certificates.length),
    peakMemoryMB: peakKB > 0 ? Math.round(peakKB / 1024) : null,
    route53: route53Since(bench, route53Before),
    acmeRequests: sum(bench.acmeCounter.counts()),
    version,
  };
}

/** /usr/bin/time -o FILE writes "Command exited with non-zero status N" before the figure when the command failed. */
function readMaxRssKB(file: string): number | undefined {
  try {
    const last = readFileSync(file, 'utf8').trim().split('\n').pop();
    const kb = Number(last);
    return Number.isFinite(kb) ? kb : undefined;
  } catch {
    return undefined;
  }
}
