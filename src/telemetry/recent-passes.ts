import { auditJsonReplacer } from './audit-json.js';
import type { AuditEntry, AuditLogger } from './logger.js';

/** One audit event of a pass as the status page shows it: already redacted by the logger, details as compact JSON. */
export interface RecentEvent {
  time: string;
  level: string;
  event: string;
  certificate: string | null;
  /** The event's own facts (not its runId or certificate), cut to a bounded length. */
  details: string;
}

export interface RecentPass {
  runId: string;
  /** When the first event of the pass was seen. */
  firstAt: string;
  /** Oldest first; the oldest may have been dropped to keep the ring bounded (`dropped` says how many). */
  events: RecentEvent[];
  dropped: number;
}

export interface RecentPassLimits {
  passes: number;
  events: number;
}

// A pass of a thousand certificates logs thousands of events: the page keeps the latest of them only.
const DEFAULT_LIMITS: RecentPassLimits = { passes: 3, events: 500 };
const MAX_DETAILS_CHARS = 600;

/**
 * The audit events of the last passes of `run`, in memory and bounded (a number of passes and of events
 * over all of them), for the status page. Only events that carry a pass's `runId` are kept; debug events
 * are not. Nothing is written anywhere: a restart starts empty.
 */
export class RecentPasses {
  private readonly byRun = new Map<string, RecentPass>();
  private total = 0;

  constructor(private readonly limits: RecentPassLimits = DEFAULT_LIMITS) {}

  /** Keeps the events written through `log` (or any of its relatives) from now on; returns the unsubscribe. */
  follow(log: AuditLogger): () => void {
    return log.subscribe((entry) => this.record(entry));
  }

  record(entry: AuditEntry, at: Date = new Date()): void {
    const { runId, certificate, ...facts } = entry.fields;
    if (typeof runId !== 'string' || entry.level === 'debug') return;
    let pass = this.byRun.get(runId);
    if (!pass) {
      pass = { runId, firstAt: at.toISOString(), events: [], dropped: 0 };
      this.byRun.set(runId, pass);
      this.dropOldestPasses();
    }
    pass.events.push({
      time: at.toISOString(),
      level: entry.level,
      event: entry.event,
      certificate: typeof certificate === 'string' ? certificate : null,
      details: detailsOf(facts),
    });
    this.total += 1;
    this.dropOldestEvents();
  }

  /** Newest pass first, each a copy. */
  passes(): RecentPass[] {
    return [...this.byRun.values()].reverse().map((pass) => ({ ...pass, events: [...pass.events] }));
  }

  private dropOldestPasses(): void {
    while (this.byRun.size > this.limits.passes) {
      const [oldest, pass] = this.byRun.entries().next().value as [string, RecentPass];
      this.total -= pass.events.length;
      this.byRun.delete(oldest);
    }
  }

  /** The oldest events of the oldest pass go first; a pass left with none stays listed (its count says what went). */
  private dropOldestEvents(): void {
    for (const pass of this.byRun.values()) {
      if (this.total <= this.limits.events) return;
      const excess = Math.min(this.total - this.limits.events, pass.events.length);
      pass.events.splice(0, excess);
      pass.dropped += excess;
      this.total -= excess;
    }
  }
}

function detailsOf(facts: Record<string, unknown>): string {
  const present = Object.fromEntries(Object.entries(facts).filter(([, value]) => value !== null && value !== undefined));
  let text: string;
  try {
    text = JSON.stringify(present, auditJsonReplacer);
  } catch {
    text = '(details not serialisable)';
  }
  if (text === '{}') return '';
  return text.length > MAX_DETAILS_CHARS ? `${text.slice(0, MAX_DETAILS_CHARS - 1)}…` : text;
}
