import type { ProgressRow } from './renewal-steps.js';

/**
 * One line per certificate: `› name  step` while it runs (with the seconds of a wait: INSYNC always,
 * any step that lasts), `✓ name  renewed in 34.2 s` or `✗ name  failed after 3.1 s: …` at the end.
 * Lines are cut to the terminal's width: a wrapped line would throw the redraw's line count off.
 */

export interface RenderOptions {
  color: boolean;
  /** The terminal's columns. */
  width: number;
}

const GREEN = '\x1b[32m';
const RED = '\x1b[31m';
const RESET = '\x1b[0m';
// A step shorter than this says no seconds: they would flicker for steps that take a moment.
const SHOW_SECONDS_AFTER_MS = 2_000;

export function renderRows(rows: ProgressRow[], now: number, options: RenderOptions): string[] {
  const nameWidth = Math.max(0, ...rows.map((row) => row.name.length));
  return rows.map((row) => renderRow(row, now, nameWidth, options));
}

function renderRow(row: ProgressRow, now: number, nameWidth: number, { color, width }: RenderOptions): string {
  const name = row.name.padEnd(nameWidth);
  const [mark, text] = row.done ? [row.done.ok ? '✓' : '✗', settledText(row, row.done)] : ['›', runningText(row, now)];
  // One column spare: writing into the last one makes some terminals wrap early.
  const line = cut(`${mark} ${name}  ${text}`, Math.max(10, width - 1));
  if (!color || !row.done) return line;
  return `${row.done.ok ? GREEN : RED}${mark}${RESET}${line.slice(mark.length)}`;
}

function runningText(row: ProgressRow, now: number): string {
  const elapsed = now - row.stepSince;
  const seconds = row.step === 'waiting for Route 53 INSYNC' || elapsed >= SHOW_SECONDS_AFTER_MS ? ` ${Math.floor(elapsed / 1000)} s` : '';
  return `${row.step}…${seconds}`;
}

function settledText(row: ProgressRow, done: NonNullable<ProgressRow['done']>): string {
  const seconds = `${((done.at - row.startedAt) / 1000).toFixed(1)} s`;
  if (done.ok) return `${done.what} in ${seconds}`;
  const [word, ...rest] = done.what.split(': ');
  return `${word} after ${seconds}${rest.length ? `: ${rest.join(': ')}` : ''}`;
}

function cut(line: string, width: number): string {
  const chars = [...line];
  return chars.length <= width ? line : `${chars.slice(0, width - 1).join('')}…`;
}
