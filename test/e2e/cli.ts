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
  return { ...result, events: result.code === 2 ? [] : parseEvents(result.stderr) };
}

export function eventsNamed(events: AuditEvent[], name: string, certificate?: string): AuditEvent[] {
  return events.filter((event) => event.event === name && (certificate === undefined || event.certificate === certificate));
}
