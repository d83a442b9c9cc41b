import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { CERTKEEPER_BIN, type AuditEvent } from '../e2e/cli.js';
import { startChildProcess, type ManagedProcess } from '../stack/child-processes.js';
import { inPidNamespace, namespaceInitPid, pidsOf } from '../stack/pid-namespace.js';
import { waitFor } from '../stack/ports.js';

/**
 * `certkeeper run` as an operator runs it, killed and restarted as a host or an orchestrator does:
 * on the host, or as PID 1 of a new PID namespace for every run (a container without an init, where
 * the next container is PID 1 again). Each run's stderr goes to its own file, read as it grows, so the
 * soak sees audit events as they happen (to kill at a given step) and keeps every line of every run
 * (to check that each is JSON). Every run is started through child-processes.ts, so it is killed by
 * PID however the test ends.
 */
export interface DaemonRun {
  index: number;
  /** Host PID of the node process (inside a namespace, its PID there is 1). */
  nodePid: number;
  pidInside: number;
  startedAt: number;
  endedAt?: number;
  /** How the run ended: "SIGKILL by the soak", "exit code 0 after SIGTERM", … */
  ended?: string;
  /** The soak is stopping it (a signal sent): its exit is not one of its own, whatever sees it first. */
  stopping?: boolean;
  stderrPath: string;
}

export type RunEvent = AuditEvent & { run: number };

export class SoakDaemon {
  readonly runs: DaemonRun[] = [];
  readonly events: RunEvent[] = [];
  /** stderr lines that are not JSON, with their run. */
  readonly notJson: { run: number; line: string }[] = [];
  private process: ManagedProcess | undefined;
  private offset = 0;
  private partial = '';

  constructor(
    readonly label: string,
    private readonly options: { configPath: string; metricsPort: number; env: Record<string, string>; dir: string; pidNamespace: boolean },
  ) {}

  get current(): DaemonRun | undefined {
    return this.process && !this.process.exitStatus ? this.runs.at(-1) : undefined;
  }

  async start(): Promise<DaemonRun> {
    if (this.current) throw new Error(`${this.label}: a run is still going`);
    this.read();
    const index = this.runs.length;
    const stderrPath = join(this.options.dir, `${this.label}-run${index}.stderr`);
    // stderr (the audit log) to a file of its own, redirected inside the namespace so that only
    // certkeeper writes there (unshare's own messages go to the run's log): every line must be JSON.
    const redirected = {
      command: 'sh',
      args: ['-c', 'exec "$@" 2>>"$0"', stderrPath, CERTKEEPER_BIN, 'run', '--config', this.options.configPath, '--metrics-port', String(this.options.metricsPort)],
    };
    const launched = this.options.pidNamespace ? inPidNamespace(redirected.command, redirected.args) : redirected;
    this.process = await startChildProcess({
      label: `certkeeper run (${this.label} #${index})`,
      command: launched.command,
      args: launched.args,
      logPath: join(this.options.dir, `${this.label}-run${index}.log`),
      env: { ...process.env, ...this.options.env },
    });
    const nodePid = this.options.pidNamespace ? await namespaceInitPid(this.process.pid) : this.process.pid;
    const run: DaemonRun = { index, nodePid, pidInside: pidsOf(nodePid).at(-1)!, startedAt: Date.now(), stderrPath };
    this.runs.push(run);
    this.offset = 0;
    this.partial = '';
    await this.waitForEvent((event) => event.event === 'daemon.started', 30_000);
    return run;
  }

  /**
   * A run that ended without the soak stopping it (a crash, an exit of its own): recorded as such and
   * restarted, as systemd's Restart= or a container's restart policy would. Returns that run.
   */
  async restartIfExited(): Promise<DaemonRun | undefined> {
    const run = this.runs.at(-1);
    if (!run || run.ended || run.stopping || !this.process?.exitStatus) return undefined;
    await this.ended(`exited on its own (${this.process.exitStatus})`, 1_000);
    await this.start();
    return run;
  }

  /** Reads what the current run wrote since the last look. */
  read(): void {
    const run = this.runs.at(-1);
    if (!run) return;
    let fd: number;
    try {
      fd = openSync(run.stderrPath, 'r');
    } catch {
      return;
    }
    try {
      const buffer = Buffer.alloc(1 << 16);
      for (;;) {
        const read = readSync(fd, buffer, 0, buffer.length, this.offset);
        if (read === 0) break;
        this.offset += read;
        const lines = (this.partial + buffer.subarray(0, read).toString('utf8')).split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) this.take(run.index, line);
      }
    } finally {
      closeSync(fd);
    }
  }

  /** The first event of the current run, from now on, that `match` accepts; undefined after `timeoutMs`. */
  async waitForEvent(match: (event: RunEvent) => boolean, timeoutMs: number): Promise<RunEvent | undefined> {
    const run = this.runs.length - 1;
    let seen = this.events.length;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.read();
      const found = this.events.slice(seen).find((event) => event.run === run && match(event));
      if (found) return found;
      seen = this.events.length;
      if (!this.current) throw new Error(`${this.label}: certkeeper run #${run} exited (${this.process?.exitStatus}) while waiting for an event\n${this.tail()}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return undefined;
  }

  /** Certificates of the current run with a renewal started and not yet ended. */
  renewalsInFlight(): string[] {
    const run = this.runs.length - 1;
    const open = new Set<string>();
    for (const event of this.events) {
      if (event.run !== run || !event.certificate) continue;
      if (event.event === 'renewal.started') open.add(event.certificate);
      if (['renewal.succeeded', 'renewal.failed', 'renewal.cancelled'].includes(event.event)) open.delete(event.certificate);
    }
    return [...open];
  }

  /** SIGKILL to node itself (PID 1 of its namespace, or the host process): nothing of it runs after this. */
  async kill(): Promise<void> {
    const run = this.current;
    if (!run) return;
    run.stopping = true;
    process.kill(run.nodePid, 'SIGKILL');
    await this.ended('SIGKILL by the soak', 10_000);
  }

  /** SIGTERM to node, as `docker stop` or systemd do; resolves with how it ended (SIGKILL after `graceMs`). */
  async stop(graceMs = 30_000): Promise<string | undefined> {
    const run = this.current;
    if (!run) return this.runs.at(-1)?.ended;
    run.stopping = true;
    process.kill(run.nodePid, 'SIGTERM');
    try {
      await this.ended('after SIGTERM', graceMs);
    } catch {
      process.kill(run.nodePid, 'SIGKILL');
      await this.ended(`SIGKILL: still running ${graceMs / 1000} s after SIGTERM`, 10_000);
    }
    return run.ended;
  }

  /** The last lines of the current run's stderr, for error messages. */
  tail(lines = 20): string {
    return this.events
      .slice(-lines)
      .map((event) => JSON.stringify(event))
      .join('\n');
  }

  private async ended(how: string, timeoutMs: number): Promise<void> {
    const process = this.process!;
    await waitFor(() => process.exitStatus, { label: `${this.label} to exit (${how})`, timeoutMs, intervalMs: 20 });
    this.read();
    if (this.partial) this.take(this.runs.length - 1, this.partial);
    this.partial = '';
    const run = this.runs.at(-1)!;
    run.endedAt = Date.now();
    run.ended = how === 'after SIGTERM' ? `${process.exitStatus} after SIGTERM` : how;
  }

  private take(run: number, line: string): void {
    if (line.trim() === '') return;
    try {
      this.events.push({ ...(JSON.parse(line) as AuditEvent), run });
    } catch {
      this.notJson.push({ run, line });
    }
  }
}
