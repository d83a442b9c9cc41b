import { existsSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConfigError, DEFAULT_CONFIG_PATH } from '../config/config-error.js';
import type { CliIo } from './io.js';
import type { renewCommand } from './renew.js';
import type { runCommand } from './run.js';
import type { discoverCommand } from './discover.js';
import type { doctorCommand } from './doctor.js';
import type { iamPolicyCommand } from './iam-policy.js';
import type { initCommand } from './init.js';
import type { planCommand, statusCommand } from './status.js';
import type { reportCommand } from './report.js';
import { createLogger, type AuditLogger } from '../telemetry/logger.js';
import { packageVersion } from '../telemetry/package-version.js';
import { LOG_FORMATS, logFormatInArgv, resolveLogFormat, type LogFormat } from './output-mode.js';

/*
 * Start-up loads commander and nothing heavy: each command's module (and through it the config loader,
 * the agent, acme-client and the AWS SDK) is imported when that command runs, so `--help` and
 * `--version` answer at once.
 */

/** Exit codes are a contract: 0 all good, 1 a certificate failed, 2 usage or config error. */
export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export async function main(argv: string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  let exitCode = EXIT_OK;
  const errors = new ErrorReport(io, logFormatInArgv(argv));
  const program = new Command('certkeeper')
    .description('Keeps TLS certificates on AWS from ever lapsing: ACME DNS-01 on Route 53, deployed to ACM and load balancers.')
    .exitOverride()
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => errors.usageText(text) })
    .showHelpAfterError('(run certkeeper --help for usage)')
    .version(packageVersion(), '-V, --version', 'print the version of certkeeper');
  const configOption = () => new Option('-c, --config <file>', 'config file (.ts, .js or .mjs)').default(DEFAULT_CONFIG_PATH);
  const logFormatOption = () =>
    new Option('--log-format <format>', 'the audit log on stderr: JSON lines, or short readable lines (default: pretty at a terminal, json otherwise)').choices(LOG_FORMATS);

  // Each action's options are typed as its command takes them: commander fills them from the options declared beside it.
  program
    .command('init')
    .description('write a commented minimal config (asks at a terminal, nothing otherwise); never overwrites')
    .argument('[file]', 'where to write it', DEFAULT_CONFIG_PATH)
    .option('--email <address>', 'contact of the ACME account')
    .option('--domain <name>', 'a domain of the certificate (repeat, or comma-separate)', (value: string, previous: string[] = []) => [...previous, value])
    .option('--region <region>', 'AWS region of the certificate in ACM')
    .option('--listener-arn <arn>', 'HTTPS listener to serve it on')
    .option('--certificate-arn <arn>', 'ACM certificate to re-import into, keeping its ARN')
    .action(async (file: string, options: Parameters<typeof initCommand>[1]) => {
      exitCode = await (await import('./init.js')).initCommand(file, options, io);
    });

  program
    .command('renew')
    .description('renew what is due among the named certificates (all when none is named), then deploy it')
    .argument('[names...]', 'certificate names from the config')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option('--force', 'renew even when the deployed certificate is not due (rate-limit guards still apply)')
    .option('--reason <text>', 'why, for the audit log (with --force)')
    .option('--ignore-rate-limits', "also bypass certkeeper's rate-limit guards (the CA's own limits still apply)")
    .option('--json', 'print the outcome as JSON on stdout')
    .option(
      '--dry-run',
      "prove the whole path against the CA's staging directory (acme.stagingDirectoryUrl) for every named certificate, due or not: preflight, order, DNS-01 with clean-up; no ACM import, no listener change, nothing recorded",
    )
    .action(async (names: string[], options: Parameters<typeof renewCommand>[1] & { dryRun?: boolean }, command: Command) => {
      if (options.dryRun) {
        const conflict = dryRunConflict(options);
        if (conflict) command.error(`error: ${conflict}`, { exitCode: EXIT_USAGE, code: 'certkeeper.dryRunConflict' });
        exitCode = await (await import('./dry-run.js')).dryRunCommand(names, options, io);
        return;
      }
      exitCode = await (await import('./renew.js')).renewCommand(names, options, io);
    });

  program
    .command('status')
    .description('show each managed certificate as deployed in AWS, and what certkeeper would do now')
    .argument('[names...]', 'certificate names from the config')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option('--json', 'print a JSON array on stdout')
    .action(async (names: string[], options: Parameters<typeof statusCommand>[1]) => {
      exitCode = await (await import('./status.js')).statusCommand(names, options, io);
    });

  program
    .command('plan')
    .description('what a pass would do now and why, and when each certificate will next be renewed; changes nothing')
    .argument('[names...]', 'certificate names from the config')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option('--json', 'print a JSON array on stdout')
    .action(async (names: string[], options: Parameters<typeof planCommand>[1]) => {
      exitCode = await (await import('./status.js')).planCommand(names, options, io);
    });

  program
    .command('report')
    .description('write the status page (timeline, state, where each certificate is deployed, last renewal and error) as one self-contained HTML file; changes nothing')
    .argument('[names...]', 'certificate names from the config')
    .addOption(configOption())
    .addOption(logFormatOption())
    .requiredOption('--html <file>', 'the HTML file to write ("-": stdout); replaced in one step', parseHtmlTarget)
    .action(async (names: string[], options: Parameters<typeof reportCommand>[1]) => {
      exitCode = await (await import('./report.js')).reportCommand(names, options, io);
    });

  program
    .command('doctor')
    .description('check what a renewal needs before its order (CA, hosted zones, listeners, certificate ARNs, IAM) and print a checklist; changes nothing')
    .argument('[names...]', 'certificate names from the config')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option('--json', 'print a JSON array on stdout')
    .action(async (names: string[], options: Parameters<typeof doctorCommand>[1]) => {
      exitCode = await (await import('./doctor.js')).doctorCommand(names, options, io);
    });

  program
    .command('discover')
    .description('list ACM certificates that certkeeper does not manage and that expire soon, with what uses them')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option('--regions <list>', 'comma-separated regions (default: those of the config)', (value: string) =>
      value
        .split(',')
        .map((r) => r.trim())
        .filter(Boolean),
    )
    .option('--days <n>', 'expiring within this many days (default: discovery.withinDays, 30)', (value: string) => {
      const days = Number(value);
      if (!Number.isInteger(days) || days < 1) throw new InvalidArgumentError('expected a whole number of days, at least 1');
      return days;
    })
    .option('--json', 'print a JSON array on stdout')
    .action(async (options: Parameters<typeof discoverCommand>[0]) => {
      exitCode = await (await import('./discover.js')).discoverCommand(options, io);
    });

  program
    .command('run')
    .description('stay in the foreground: a pass now, then on the configured schedule; SIGINT/SIGTERM stop it cleanly')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option(
      '--metrics-port <port>',
      'serve Prometheus /metrics, /healthz, /readyz and the /status page on this port (overrides CERTKEEPER_METRICS_PORT and metrics.port)',
      parsePort,
    )
    .option('--metrics-host <address>', 'address to bind the metrics port to (default: metrics.host, else every interface)')
    .action(async (options: Parameters<typeof runCommand>[0]) => {
      exitCode = await (await import('./run.js')).runCommand(options, io);
    });

  program
    .command('iam-policy')
    .description('print the IAM policy JSON that exactly this config needs (notes on stderr)')
    .addOption(configOption())
    .addOption(logFormatOption())
    .option('--offline', 'do not look up zones found by name (ListHostedZones): allow any zone for them')
    .option('--role <arn>', 'print the policy for this route53 roleArn instead (the role side of a cross-account zone)')
    .action(async (options: Parameters<typeof iamPolicyCommand>[0]) => {
      exitCode = await (await import('./iam-policy.js')).iamPolicyCommand(options, io);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      errors.usageDone();
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof ConfigError) {
      errors.config(error.message, error.file);
      return EXIT_USAGE;
    }
    // By name: the class lives with the pass, which a failed command may never have loaded.
    if (error instanceof Error && (error.name === 'UnknownCertificateError' || error.name === 'UsageError')) {
      errors.usage(error.message);
      return EXIT_USAGE;
    }
    errors.failed(error instanceof Error ? error.message : String(error));
    return EXIT_FAILED;
  }
}

/**
 * Errors around a command's work (config, usage, a command that failed as a whole): readable text at a
 * terminal, as before; otherwise one JSON audit event each, so that every line on stderr stays JSON.
 */
class ErrorReport {
  private readonly log?: AuditLogger;
  private pendingUsage = '';

  constructor(
    private readonly io: CliIo,
    logFormat: LogFormat | undefined,
  ) {
    if (resolveLogFormat(io.stderr, logFormat) === 'json') this.log = createLogger({ stream: io.stderr, pretty: false });
  }

  config(message: string, file: string | undefined): void {
    if (this.log) this.log.error('config.error', { error: message, file: file ?? null });
    else this.io.stderr.write(`certkeeper: ${message}\n`);
  }

  usage(message: string): void {
    if (this.log) this.log.error('cli.usage_error', { error: message });
    else this.io.stderr.write(`certkeeper: ${message}\n`);
  }

  failed(message: string): void {
    if (this.log) this.log.error('command.failed', { error: message });
    else this.io.stderr.write(`certkeeper: ${message}\n`);
  }

  /** What commander writes for a usage error (the error, then the hint): kept until it is done. */
  usageText(text: string): void {
    if (this.log) this.pendingUsage += text;
    else this.io.stderr.write(text);
  }

  usageDone(): void {
    const text = this.pendingUsage.trim();
    this.pendingUsage = '';
    if (text) this.usage(text.replace(/^error: /, ''));
  }
}

/**
 * Options that mean nothing for a dry run, and why: it renews every named certificate whether due or not,
 * consults no rate-limit guard (the production ledger is not its CA's), and records nothing a reason could go with.
 */
export function dryRunConflict(options: { force?: boolean; ignoreRateLimits?: boolean; reason?: string }): string | undefined {
  if (options.force) return '--dry-run cannot be used with --force: a dry run already renews every named certificate, due or not, and records nothing; drop --force';
  if (options.ignoreRateLimits)
    return "--dry-run cannot be used with --ignore-rate-limits: a dry run orders from the staging CA, which certkeeper's rate-limit guards do not cover; drop --ignore-rate-limits";
  if (options.reason !== undefined)
    return '--dry-run cannot be used with --reason: --reason explains a forced renewal in the audit log, and a dry run records nothing; drop --reason';
  return undefined;
}

/** The page's directory must exist: said before any AWS or CA request is made. */
function parseHtmlTarget(value: string): string {
  if (value === '-') return value;
  const directory = dirname(resolve(value));
  if (!existsSync(directory) || !statSync(directory).isDirectory())
    throw new InvalidArgumentError(`the directory ${directory} does not exist; create it or write the page elsewhere (or "-" for stdout)`);
  if (existsSync(value) && statSync(value).isDirectory()) throw new InvalidArgumentError(`${value} is a directory; give a file name such as ${join(value, 'status.html')}`);
  return value;
}

function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65_535) throw new InvalidArgumentError('expected a TCP port from 1 to 65535, such as 9464');
  return port;
}
