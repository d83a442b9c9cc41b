import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { runCli as runCliUnrecorded, watchCli as watchCliUnrecorded, type CliResult, type WatchedCli } from '../e2e/cli.js';

/**
 * Every stdout/stderr of the suite's certkeeper processes is kept in one folder, and every private key
 * the suite sees (the ACM key vault's, account keys) as a needle beside it: the global teardown
 * (secrets-global-setup.ts) scans all output for key material once every file has run.
 */
declare module 'vitest' {
  export interface ProvidedContext {
    reliabilityOutputDir: string;
  }
}

let sequence = 0;

function outputDir(): string {
  const dir = inject('reliabilityOutputDir');
  mkdirSync(join(dir, 'output'), { recursive: true });
  return dir;
}

function keep(label: string, stdout: string, stderr: string): void {
  const name = `${process.pid}-${++sequence}-${label.replace(/[^a-z0-9]+/gi, '_').slice(0, 60)}`;
  writeFileSync(join(outputDir(), 'output', `${name}.out`), stdout);
  writeFileSync(join(outputDir(), 'output', `${name}.err`), stderr);
}

/** Also scanned: anything else a test produced that a user could see (errors, status output). */
export function keepOutput(label: string, text: string): void {
  keep(label, text, '');
}

/** A private key the suite knows of: no output may contain it. */
export function rememberSecret(pem: string): void {
  appendFileSync(join(outputDir(), 'needles.txt'), `${JSON.stringify(pem)}\n`, { mode: 0o600 });
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await runCliUnrecorded(args, env);
  keep(args.join(' '), result.stdout, result.stderr);
  return result;
}

export function watchCli(args: string[], env: NodeJS.ProcessEnv): WatchedCli {
  const watched = watchCliUnrecorded(args, env);
  void watched.done.then(
    (result) => keep(`watched ${args.join(' ')}`, result.stdout, result.stderr),
    () => undefined,
  );
  return watched;
}

export { eventsNamed, exitWithin, parseEvents, type AuditEvent, type CliResult, WatchedCli } from '../e2e/cli.js';
