/**
 * How an audit event's values become JSON, in the log, its readable form and the status page alike: an
 * Error as its message (its own fields would print `{}`), a bigint as its digits (JSON has none).
 */
export function auditJsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return value.message;
  return typeof value === 'bigint' ? value.toString() : value;
}
