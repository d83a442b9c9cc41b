import { fstatSync } from 'node:fs';
import type { Writable } from 'node:stream';

/**
 * How a command talks to whoever runs it: the audit log's format on stderr (`--log-format`), colours,
 * and whether a live progress block is drawn on stdout. Escape codes only ever go to a terminal that a
 * person reads: never into `--json` output, a pipe, a file, or between JSON log lines.
 */

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

type Stream = Writable & { isTTY?: boolean; fd?: number };

/** `--log-format` when given, else short readable lines at a terminal and JSON lines otherwise. */
export function resolveLogFormat(stderr: Writable, chosen?: LogFormat): LogFormat {
  return chosen ?? ((stderr as Stream).isTTY ? 'pretty' : 'json');
}

/**
 * The `--log-format` of a command line, read before commander has parsed it: errors in parsing itself
 * (an unknown option) are logged in the format asked for.
 */
export function logFormatInArgv(argv: string[]): LogFormat | undefined {
  for (const [index, arg] of argv.entries()) {
    const value = arg === '--log-format' ? argv[index + 1] : arg.startsWith('--log-format=') ? arg.slice('--log-format='.length) : undefined;
    if (value === 'json' || value === 'pretty') return value;
  }
  return undefined;
}

export function isTerminal(stream: Writable): boolean {
  return Boolean((stream as Stream).isTTY);
}

/**
 * The live progress block: stdout is a terminal that can move its cursor, the command prints no JSON, and
 * JSON log lines are not written to that same terminal (they would be wedged between redraws).
 */
export function progressWanted(io: { stdout: Writable; stderr: Writable }, { json, logFormat }: { json?: boolean; logFormat: LogFormat }, env = process.env): boolean {
  const stdout = io.stdout as Stream;
  if (!stdout.isTTY || json || env.TERM === 'dumb') return false;
  return logFormat === 'pretty' || !sameTerminal(stdout, io.stderr);
}

function sameTerminal(a: Stream, b: Stream): boolean {
  if (!b.isTTY) return false;
  if (a.fd === undefined || b.fd === undefined) return true;
  try {
    return fstatSync(a.fd).rdev === fstatSync(b.fd).rdev;
  } catch {
    return true;
  }
}
