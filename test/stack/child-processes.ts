import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { onProcessExit } from './exit-hooks.js';

/** A server started by the test stack, its stdout and stderr going to `logPath`. */
export interface ManagedProcess {
  readonly label: string;
  readonly pid: number;
  readonly logPath: string;
  /** "exit code 1" / "signal SIGTERM" once it has exited, on its own or by stop(). */
  readonly exitStatus: string | undefined;
  /** SIGTERM, then SIGKILL after `graceMs` (default 3 s); resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
  /** The last lines of its log, for error messages. */
  logTail(lines?: number): string;
}

export interface StartChildProcessOptions {
  label: string;
  command: string;
  args: string[];
  logPath: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

const running = new Map<number, ChildProcess>();

/**
 * Spawns `command` with stdout/stderr appended to `logPath` and registers it so it is killed by PID
 * when this process exits, is interrupted (SIGINT/SIGTERM/SIGHUP), or even dies by SIGKILL (a watchdog
 * process notices its stdin closing and kills what is still registered). Rejects if it cannot be spawned.
 */
export async function startChildProcess(options: StartChildProcessOptions): Promise<ManagedProcess> {
  const log = openSync(options.logPath, 'a');
  let child: ChildProcess;
  try {
    child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', log, log],
    });
  } finally {
    closeSync(log); // the child has its own copy of the descriptor
  }
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new Error(`cannot start ${options.label} (${options.command}): ${error.message}`)));
  });
  const pid = child.pid!;

  let exitStatus: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitStatus = signal ? `signal ${signal}` : `exit code ${code}`;
      forget(pid);
      resolve();
    });
  });
  remember(pid, child);

  const logTail = (lines = 30): string => {
    try {
      return readFileSync(options.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };

  return {
    label: options.label,
    pid,
    logPath: options.logPath,
    get exitStatus() {
      return exitStatus;
    },
    async stop(graceMs = 3_000) {
      if (exitStatus) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
    logTail,
  };
}

/** True while a process with this PID exists (and is not a zombie of ours). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // A zombie still answers kill(0); /proc says whether it is one.
    return !/\nState:\s+Z/.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

/** Children still running, by PID (for tests of the stack itself). */
export function runningChildPids(): number[] {
  return [...running.keys()];
}

function remember(pid: number, child: ChildProcess): void {
  onProcessExit(killAllNow); // a Set: registering again is a no-op
  running.set(pid, child);
  watchdog().write(`+${pid}\n`);
}

function forget(pid: number): void {
  running.delete(pid);
  if (watchdogStdin) {
    watchdogStdin.write(`-${pid}\n`);
    if (running.size === 0) {
      // Nothing left to guard: let the watchdog exit, so no process of ours outlives stop().
      watchdogStdin.end();
      watchdogStdin = undefined;
    }
  }
}

/** SIGKILL, no grace period: exit hooks must be synchronous. */
function killAllNow(): void {
  for (const pid of running.keys()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

// The watchdog is a detached node process holding the list of our children's PIDs; its stdin is a pipe
// from us, so it sees EOF however we die (even SIGKILL, where no hook runs) and then kills them.
const WATCHDOG_SCRIPT = `
const pids = new Set(); let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  pending += chunk;
  for (let i; (i = pending.indexOf('\\n')) >= 0; pending = pending.slice(i + 1)) {
    const line = pending.slice(0, i), pid = Number(line.slice(1));
    if (line[0] === '+') pids.add(pid); else pids.delete(pid);
  }
});
const killAll = () => { for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} } process.exit(0); };
process.stdin.on('end', killAll);
process.stdin.on('error', killAll);
`;

let watchdogStdin: Writable | undefined;

function watchdog(): Writable {
  if (watchdogStdin) return watchdogStdin;
  // A bare environment: no NODE_OPTIONS (test-runner loaders) or NODE_EXTRA_CA_CERTS to trip over.
  const guard = spawn(process.execPath, ['-e', WATCHDOG_SCRIPT], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
    env: { PATH: process.env.PATH ?? '' },
  });
  guard.unref();
  const stdin = guard.stdin;
  stdin.on('error', () => {}); // the watchdog gone early must not crash the tests
  (stdin as Writable & { unref?: () => void }).unref?.(); // never keep this process alive
  watchdogStdin = stdin;
  return stdin;
}
