import { spawn } from 'node:child_process';

export interface ProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  wallSeconds: number;
}

/** Runs a command to its end, collecting its output and wall time. */
export function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<ProcessResult> {
  const started = process.hrtime.bigint();
  const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += String(chunk)));
  child.stderr.on('data', (chunk) => (stderr += String(chunk)));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, wallSeconds: Number(process.hrtime.bigint() - started) / 1e9 }));
  });
}

/** The last lines of a process's output, indented, for a failure report. */
export function lastLines(text: string, count = 5): string {
  return text
    .trim()
    .split('\n')
    .slice(-count)
    .map((line) => `      ${line}`)
    .join('\n');
}
