import type { Writable } from 'node:stream';
import type { AuditEntry, AuditLogger } from '../../telemetry/logger.js';
import type { CliIo } from '../io.js';
import { colorAllowed } from '../../telemetry/pretty-line.js';
import { progressWanted, resolveLogFormat, type LogFormat } from '../output-mode.js';
import { LiveBlock } from './live-block.js';
import { renderRows } from './render-rows.js';
import { RenewalSteps, type StepOptions } from './renewal-steps.js';

// The INSYNC wait shows its seconds ticking.
const TICK_MS = 1_000;

/**
 * The live progress of renewals at a terminal: follows the audit log (a subscriber, like metrics and
 * notifications), keeps the rows' steps, and redraws the block when a step changes and every second
 * while a renewal runs. When every row is settled the block stays on screen as ordinary lines, and a
 * later pass (`run`) starts a new block below.
 */
export class RenewalProgress {
  private readonly block: LiveBlock;
  private steps?: RenewalSteps;
  private unsubscribe?: () => void;
  private ticker?: NodeJS.Timeout;

  constructor(
    private readonly out: Writable & { columns?: number },
    private readonly color: boolean,
    private readonly clock: () => number = Date.now,
  ) {
    this.block = new LiveBlock(out);
  }

  /** For the logger (`interleave`): log lines to this terminal are written above the block. */
  readonly interleave = (writeLine: () => void): void => this.block.interleave(writeLine);

  follow(log: AuditLogger, options: StepOptions): void {
    this.steps = new RenewalSteps(options);
    this.unsubscribe = log.subscribe((entry: AuditEntry) => {
      if (this.steps?.apply(entry, this.clock())) this.redraw();
    });
  }

  /** The last state drawn and left on screen; no more redraws. Idempotent. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.steps && this.steps.rows().length > 0) this.draw(this.steps);
    this.block.commit();
    // Stopped once: a second stop (the command's finally) draws nothing again.
    this.steps = undefined;
  }

  private redraw(): void {
    const steps = this.steps;
    if (!steps) return;
    this.draw(steps);
    if (steps.settled()) {
      this.block.commit();
      steps.forgetSettled();
      clearInterval(this.ticker);
      this.ticker = undefined;
    } else {
      // Never keeps the process alive: a command ends when its work does.
      this.ticker ??= setInterval(() => this.redraw(), TICK_MS).unref();
    }
  }

  private draw(steps: RenewalSteps): void {
    this.block.draw(renderRows(steps.rows(), this.clock(), { color: this.color, width: this.out.columns || 80 }));
  }
}

/** The live block for a command that renews, when it is wanted (see output-mode.ts): never for --json or a pipe. */
export function startProgress(io: CliIo, options: { json?: boolean; logFormat?: LogFormat }): RenewalProgress | undefined {
  const logFormat = resolveLogFormat(io.stderr, options.logFormat);
  if (!progressWanted(io, { json: options.json, logFormat })) return undefined;
  return new RenewalProgress(io.stdout, colorAllowed(io.stdout));
}
