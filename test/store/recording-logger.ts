import type { AuditLogger } from '../../src/telemetry/logger.js';

export interface RecordedEvent {
  level: string;
  event: string;
  [field: string]: unknown;
}

/** An AuditLogger that keeps what it is told, for assertions on audit events. */
export function recordingLogger(events: RecordedEvent[] = [], context: Record<string, unknown> = {}): AuditLogger & { events: RecordedEvent[] } {
  const log =
    (level: string) =>
    (event: string, fields: Record<string, unknown> = {}) =>
      void events.push({ ...context, ...fields, level, event });
  return {
    events,
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    debug: log('debug'),
    child: (fields) => recordingLogger(events, { ...context, ...fields }),
    subscribe: () => () => undefined,
  };
}
