import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The committed launcher, as a user runs it from a checkout. */
export const CERTKEEPER_BIN = fileURLToPath(new URL('../../bin/certkeeper', import.meta.url));

export interface AuditEvent {
  time: string;
  level: string;
  event: string;
  runId?: string;
  certificate?: string;
  [field: string]: unknown;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stderr parsed as JSON lines; a line that is not JSON fails the parse (the audit log is JSON only). */
  events: AuditEvent[];
}

export function parseEvents(stderr: string): AuditEvent[] {
  return stderr
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as AuditEvent;
      } catch {
        throw new Error(`stderr line is not JSON: ${line}`);
      }
    });
}

export function startCli(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(CERTKEEPER_BIN, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function collect(child: ChildProcess): Promise<Omit<CliResult, 'events'>> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr!.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const result = await collect(startCli(args, env));
  // Config and usage errors (exit 2) are JSON events too when stderr is not a terminal.
  return { ...result, events: parseEvents(result.stderr) };
}

export function eventsNamed(events: AuditEvent[], name: string, certificate?: string): AuditEvent[] {
  return events.filter((event) => event.event === name && (certificate === undefined || event.certificate === certificate));
}

/**
 * A certkeeper process under watch: every audit line it writes is parsed as it comes, so a test can
 * wait for the Nth event of a name without missing one that arrived in the same chunk as another.
 */
export class WatchedCli {
  readonly events: AuditEvent[] = [];
  readonly done: Promise<CliResult>;
  private partial = '';

  constructor(readonly child: ChildProcess) {
    child.stderr!.on('data', (chunk: Buffer) => {
      const lines = (this.partial + String(chunk)).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) this.events.push(JSON.parse(line) as AuditEvent);
    });
    this.done = collect(child).then((result) => ({ ...result, events: parseEvents(result.stderr) }));
  }

  /** Resolves once `count` events of this name have been written. */
  async waitFor(name: string, count = 1, timeoutMs = 60_000): Promise<AuditEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = eventsNamed(this.events, name);
      if (found.length >= count) return found[count - 1]!;
      if (Date.now() > deadline) throw new Error(`fewer than ${count} ${name} events within ${timeoutMs} ms`);
      if (this.child.exitCode !== null) throw new Error(`certkeeper exited (${this.child.exitCode}) before ${count} ${name} events`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

export function watchCli(args: string[], env: NodeJS.ProcessEnv): WatchedCli {
  return new WatchedCli(startCli(args, env));
}

/** Waits for the process to end, failing (instead of hanging the suite) if it has not within `ms`. */
export async function exitWithin(cli: WatchedCli, ms: number): Promise<CliResult> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`certkeeper still running ${ms} ms after the signal`)), ms)));
  try {
    return await Promise.race([cli.done, bound]);
  } finally {
    clearTimeout(timer);
    if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
  }
}
