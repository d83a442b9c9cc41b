import type { Writable } from 'node:stream';
import { auditJsonReplacer } from './audit-json.js';

/**
 * The audit log as a person at a terminal reads it: one short line per event (time, level, event,
 * certificate, the fields that say something), warnings yellow and errors red. The JSON log keeps every
 * field in full; this form leaves out what only a machine needs.
 */

export interface PrettyOptions {
  /** ANSI colours for warnings and errors (off under NO_COLOR, or when the stream is no terminal). */
  color: boolean;
}

// Said by the line's own layout (runId), by another field (hostedZoneId beside zone, checks beside
// reasons), or only useful to a machine (Route 53 change IDs).
const HIDDEN = new Set(['time', 'level', 'event', 'runId', 'certificate', 'changeIds', 'checks']);
// Free text: kept whole, ARNs in it included (a person may copy one from an error).
const TEXT = new Set(['error', 'why', 'fix', 'detail', 'text', 'reason', 'recordError']);
// Counts whose zero says nothing worth a person's eye (a pass's `failed=0` does, and stays).
const QUIET_WHEN_ZERO = new Set(['consecutiveFailures', 'previousFailures']);
const MAX_VALUE = 120;

/** Colours only on a terminal; https://no-color.org: any non-empty NO_COLOR turns them off, as does TERM=dumb. */
export function colorAllowed(stream: Writable, env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean((stream as Writable & { isTTY?: boolean }).isTTY) && !env.NO_COLOR && env.TERM !== 'dumb';
}

const COLOURS: Record<string, string> = { error: '\x1b[31m', warn: '\x1b[33m' };
const RESET = '\x1b[0m';

export function prettyLine(level: string, event: string, fields: Record<string, unknown>, options: PrettyOptions, now = new Date()): string {
  const certificate = typeof fields.certificate === 'string' ? ` [${fields.certificate}]` : '';
  const details = Object.entries(fields)
    .filter(([key, value]) => !HIDDEN.has(key) && !(key === 'hostedZoneId' && fields.zone) && !(QUIET_WHEN_ZERO.has(key) && value === 0) && !isEmpty(value))
    .map(([key, value]) => `${key}=${TEXT.has(key) ? quoted(String(value)) : compact(value)}`);
  const head = `${level.padEnd(5)} ${event}`;
  const coloured = options.color && COLOURS[level] ? `${COLOURS[level]}${head}${RESET}` : head;
  return [`${now.toISOString().slice(11, 19)} ${coloured}${certificate}`, ...details].join(' ');
}

/**
 * `arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-…` → `certificate/0f1e2d3c…`: the resource,
 * with long IDs cut to 8 characters. The region and account are in the config and in the JSON log.
 */
export function shortenArn(value: string): string {
  const match = /^arn:aws[\w-]*:[\w-]+:[\w-]*:\d*:(.+)$/.exec(value);
  if (!match) return value;
  return match[1]!
    .split('/')
    .map((part) => (/^[0-9a-f-]{12,}$/i.test(part) ? `${part.slice(0, 8)}…` : part))
    .join('/');
}

function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** A value in the line's `key=value` form: ARNs shortened, lists joined, nulls left out, long values cut. */
function compact(value: unknown): string {
  const text = Array.isArray(value) && value.every((item) => typeof item !== 'object') ? value.map((item) => shorten(item)).join(',') : shorten(value);
  return text.length > MAX_VALUE ? `${text.slice(0, MAX_VALUE - 1)}…` : text;
}

function shorten(value: unknown): string {
  if (typeof value === 'string') return quoted(shortenArn(value));
  if (typeof value !== 'object' || value === null) return String(value);
  try {
    return JSON.stringify(value, (key, inner: unknown) => (inner === null ? undefined : typeof inner === 'string' ? shortenArn(inner) : auditJsonReplacer(key, inner)));
  } catch {
    return '[unprintable]';
  }
}

/** Quoted only when it has spaces, so `key=value` pairs stay apart. */
function quoted(text: string): string {
  return /\s/.test(text) ? JSON.stringify(text) : text;
}
