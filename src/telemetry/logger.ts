import type { Writable } from 'node:stream';
import { auditJsonReplacer } from './audit-json.js';
import { colorAllowed, prettyLine } from './pretty-line.js';

/**
 * The audit trail: one JSON object per line on stderr (stdout is for command results), each with
 * `time`, `level`, `event`, `runId`, `certificate` and the facts of the event. Humans at a terminal
 * get one readable line per event instead.
 */
export interface AuditLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
  debug(event: string, fields?: Record<string, unknown>): void;
  /** A logger whose every line also carries these fields (e.g. `runId`, `certificate`). */
  child(fields: Record<string, unknown>): AuditLogger;
  /**
   * Calls `listener` for every event written through this logger or any of its relatives (metrics,
   * health and notifications follow the audit trail rather than being called from each place).
   * Returns a function that unsubscribes.
   */
  subscribe(listener: AuditListener): () => void;
}

/** One audit event as listeners see it: the logger's context fields merged with the event's, key material redacted. */
export interface AuditEntry {
  level: string;
  event: string;
  fields: Record<string, unknown>;
}

export type AuditListener = (entry: AuditEntry) => void;

export interface LoggerOptions {
  stream?: Writable;
  level?: string;
  /** Human-readable lines (pretty-line.ts); defaults to whether the stream is a terminal. */
  pretty?: boolean;
  /** Colours in human-readable lines; defaults to `colorAllowed` (a terminal, no NO_COLOR, not TERM=dumb). */
  color?: boolean;
  /**
   * Called around each line's write: a live display on the same terminal clears itself, lets the line be
   * written, then draws itself again below it (see cli/progress/live-block.ts).
   */
  interleave?: (writeLine: () => void) => void;
}

const REDACTED = '[redacted: private key material]';
const KEY_MATERIAL = /-----BEGIN [A-Z ]*PRIVATE KEY-----/;

/** The npm levels (those winston had): a line is written when its level is at or above the logger's. */
const LEVELS: Record<string, number> = { error: 0, warn: 1, info: 2, http: 3, verbose: 4, debug: 5, silly: 6 };

/**
 * One `write` per line, straight to the stream (no buffer or transform stream in between), and stderr made
 * blocking (see below): a line logged just before `process.exit` is written.
 */
export function createLogger(options: LoggerOptions = {}): AuditLogger {
  const stream = options.stream ?? process.stderr;
  if (stream === process.stderr) writeThrough(process.stderr);
  const pretty = options.pretty ?? Boolean((stream as NodeJS.WriteStream).isTTY);
  const color = options.color ?? colorAllowed(stream);
  const threshold = LEVELS[options.level ?? process.env.CERTKEEPER_LOG_LEVEL ?? 'info'] ?? LEVELS.info!;
  const format = pretty ? (level: string, event: string, fields: Record<string, unknown>) => prettyLine(level, event, fields, { color }) : jsonLine;
  const interleave = options.interleave ?? ((writeLine: () => void) => writeLine());
  const write = (level: string, event: string, fields: Record<string, unknown>) => {
    if ((LEVELS[level] ?? 0) > threshold) return;
    const line = `${format(level, event, fields)}\n`;
    interleave(() => stream.write(line));
  };
  return wrap(write, {}, new Set());
}

/**
 * stderr to a pipe is written asynchronously on Linux once the pipe is full (a slow reader: a log shipper,
 * a test): the lines queued then were lost at `process.exit` (2,000 lines of 250 bytes kept 824). Blocking
 * writes, as Node does for files (and for pipes on Windows), keep each line written when `write` returns.
 */
function writeThrough(stream: NodeJS.WriteStream): void {
  const handle = (stream as unknown as { _handle?: { setBlocking?: (blocking: boolean) => number } })._handle;
  handle?.setBlocking?.(true);
}

type LineWriter = (level: string, event: string, fields: Record<string, unknown>) => void;

function wrap(write: LineWriter, context: Record<string, unknown>, listeners: Set<AuditListener>): AuditLogger {
  const log =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      // Redacted once, here: every line and every listener (notifications) gets the same fields.
      const redacted = redactFields({ ...context, ...fields });
      write(level, event, redacted);
      if (listeners.size > 0) notifyListeners(listeners, { level, event, fields: redacted });
    };
  return {
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    child: (fields) => wrap(write, { ...context, ...fields }, listeners),
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** A listener's failure must never break the audit trail or the work that logged. */
function notifyListeners(listeners: Set<AuditListener>, entry: AuditEntry): void {
  for (const listener of [...listeners]) {
    try {
      listener(entry);
    } catch {
      // ignored on purpose: see above
    }
  }
}

/** Defence in depth: whatever a caller passes, no value that looks like a private key is written or sent. */
function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const text = typeof value === 'string' ? value : value && typeof value === 'object' ? safeStringify(value) : '';
    out[key] = KEY_MATERIAL.test(text) ? REDACTED : value;
  }
  return out;
}

function jsonLine(level: string, event: string, fields: Record<string, unknown>): string {
  // The fields cannot replace the line's own keys (a stray `event` or `level` in the facts is dropped).
  const { time: _time, level: _level, event: _event, runId, certificate, ...facts } = fields;
  return safeStringify({ time: new Date().toISOString(), level, event, runId, certificate, ...facts });
}

function safeStringify(value: unknown): string {
  try {
    return JSON.stringify(value, auditJsonReplacer);
  } catch {
    return String(value);
  }
}

/** A short, key-free description of a failure, for log fields and user-facing errors. */
export function describeError(error: unknown): string {
  const text = error instanceof Error ? error.message || error.name : String(error);
  return KEY_MATERIAL.test(text) ? REDACTED : text;
}
