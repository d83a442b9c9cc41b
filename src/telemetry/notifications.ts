import type { AuditEntry, AuditLogger } from './logger.js';
import { describeError } from './logger.js';

/** What a person is told: the audit event's fields, plus a one-line summary (Slack's `text`). */
export interface Notification {
  /** The audit event it is about (`renewal.failed`, `certificate.emergency`, `deploy.not_served`, `renewal.held_past_emergency`, `clock.skew`, `pass.failed`, `certificate.recovered`, `renewal.succeeded`). */
  event: string;
  severity: 'critical' | 'warning' | 'info';
  text: string;
  time: string;
  certificate?: string;
  runId?: string;
  /** The audit event's own fields (already free of key material: the logger redacts them). */
  fields: Record<string, unknown>;
}

/** One channel (SNS topic, webhook). `target` names it in logs without its secret parts (a webhook: only its host). */
export interface NotificationSink {
  channel: string;
  target: string;
  send(notification: Notification, signal: AbortSignal): Promise<void>;
}

export interface NotifierOptions {
  /** Also tell about `renewal.succeeded`. */
  onSuccess?: boolean;
  /** Notifications waiting per channel; beyond it the oldest is dropped (and that is logged). */
  maxQueue?: number;
  /** Tries per notification and channel. */
  attempts?: number;
  /** First wait between tries; doubled each time, up to `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** One try may take this long before it counts as failed (a hung receiver must not hold the queue forever). */
  attemptTimeoutMs?: number;
}

const DEFAULTS: Required<NotifierOptions> = { onSuccess: false, maxQueue: 100, attempts: 5, baseDelayMs: 1_000, maxDelayMs: 30_000, attemptTimeoutMs: 10_000 };

/**
 * Sends notifications for the audit events that need a person, to every configured channel, in the
 * background: the renewal that logged the event never waits for, and never fails because of, a
 * notification. Each channel has its own bounded queue and sends one at a time with retries and
 * exponential backoff; `flush` gives what is still queued a deadline at shutdown.
 */
export class Notifier {
  private readonly options: Required<NotifierOptions>;
  private readonly queues: ChannelQueue[];

  constructor(
    sinks: NotificationSink[],
    private readonly log: AuditLogger,
    options: NotifierOptions = {},
  ) {
    this.options = { ...DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    this.queues = sinks.map((sink) => new ChannelQueue(sink, log, this.options));
  }

  /** Listens to `log` and its children; returns a function that stops listening. */
  follow(log: AuditLogger): () => void {
    return log.subscribe((entry) => {
      const notification = notificationFor(entry, this.options.onSuccess);
      if (notification) for (const queue of this.queues) queue.push(notification);
    });
  }

  /** Resolves when every queue is empty, or at the deadline: what is left then is abandoned and logged. */
  async flush(deadlineMs: number): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.flush(deadlineMs)));
  }
}

/** Which audit events become notifications, and how they read. */
export function notificationFor({ event, fields }: AuditEntry, onSuccess: boolean): Notification | undefined {
  const certificate = typeof fields.certificate === 'string' ? fields.certificate : undefined;
  const runId = typeof fields.runId === 'string' ? fields.runId : undefined;
  const { certificate: _c, runId: _r, ...rest } = fields;
  const base = { event, time: new Date().toISOString(), certificate, runId, fields: rest };
  const name = certificate ?? 'a certificate';
  switch (event) {
    case 'renewal.failed': {
      const inARow = typeof fields.consecutiveFailures === 'number' && fields.consecutiveFailures > 1 ? ` (${fields.consecutiveFailures} failures in a row)` : '';
      return { ...base, severity: 'critical', text: `certkeeper: renewing ${name} failed${inARow}: ${describeError(fields.error ?? 'unknown error')}` };
    }
    case 'deploy.not_served':
      return { ...base, severity: 'critical', text: `certkeeper: ${name} is deployed but not served: ${describeError(fields.error ?? '')}` };
    case 'certificate.emergency':
      return {
        ...base,
        severity: 'critical',
        text: fields.expired
          ? `certkeeper: ${name} expired at ${String(fields.notAfter)}; renewing now`
          : `certkeeper: ${name} has less than 1/20 of its lifetime left (expires ${String(fields.notAfter)}); renewing now`,
      };
    case 'renewal.held_past_emergency':
      return { ...base, severity: 'critical', text: `certkeeper: ${name} is held past its emergency point (expires ${String(fields.notAfter)}): ${lastOf(fields.reasons)}` };
    case 'clock.skew':
      return {
        ...base,
        severity: 'critical',
        text: `certkeeper: clock problem renewing ${name}: ${describeError(fields.why ?? '')}; nothing is ordered again until the clock is right`,
      };
    case 'pass.failed':
      return { ...base, severity: 'critical', text: `certkeeper: a pass failed as a whole (no certificate was looked at): ${describeError(fields.error ?? 'unknown error')}` };
    case 'certificate.recovered':
      // Resolves what the earlier failure notifications raised: sent whatever onSuccess says.
      return {
        ...base,
        severity: 'info',
        text: `certkeeper: resolved: ${name} is healthy again (valid until ${String(fields.notAfter)}) after ${String(fields.previousFailures)} failure(s); last: ${describeError(fields.lastError ?? 'unknown')}`,
      };
    case 'store.file.corrupt':
      return {
        ...base,
        severity: 'warning',
        text: `certkeeper: damaged state ${String(fields.file)} (${String(fields.error)}); ${typeof fields.movedTo === 'string' && fields.movedTo ? `moved aside to ${fields.movedTo} and rebuilt from AWS and the CA` : 'read as absent'}`,
      };
    case 'renewal.succeeded':
      if (!onSuccess) return undefined;
      return { ...base, severity: 'info', text: `certkeeper: renewed ${name}: serial ${String(fields.serial)}, valid until ${String(fields.notAfter)}` };
    default:
      return undefined;
  }
}

function lastOf(value: unknown): string {
  return Array.isArray(value) && value.length > 0 ? String(value[value.length - 1]) : '';
}

/** The JSON a channel sends: Slack reads `text`; everything else is the event, for machines. */
export function notificationBody(notification: Notification): Record<string, unknown> {
  return {
    text: notification.text,
    event: notification.event,
    severity: notification.severity,
    time: notification.time,
    certificate: notification.certificate ?? null,
    runId: notification.runId ?? null,
    ...notification.fields,
  };
}

class ChannelQueue {
  private readonly pending: Notification[] = [];
  private sending?: Promise<void>;
  private readonly shutdown = new AbortController();

  constructor(
    private readonly sink: NotificationSink,
    private readonly log: AuditLogger,
    private readonly options: Required<NotifierOptions>,
  ) {}

  push(notification: Notification): void {
    if (this.shutdown.signal.aborted) return;
    this.pending.push(notification);
    if (this.pending.length > this.options.maxQueue) {
      const dropped = this.pending.shift()!;
      this.log.warn('notification.dropped', this.outcomeFields(dropped, { why: `more than ${this.options.maxQueue} notifications waiting for this channel` }));
    }
    this.sending ??= this.drain().finally(() => (this.sending = undefined));
  }

  async flush(deadlineMs: number): Promise<void> {
    if (!this.sending) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), deadlineMs)));
    const result = await Promise.race([this.sending.then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    if (result === 'deadline') {
      const abandoned = this.pending.splice(0);
      this.shutdown.abort();
      for (const notification of abandoned)
        this.log.warn('notification.failed', this.outcomeFields(notification, { error: `not sent: shutting down (flush deadline of ${deadlineMs} ms)` }));
      await this.sending; // the try under way ends at once: its signal is aborted
    }
  }

  private async drain(): Promise<void> {
    // Taken off the queue while it is sent: the bound applies to what waits, and flush abandons only that.
    for (let next = this.pending.shift(); next; next = this.pending.shift()) await this.deliver(next);
  }

  private async deliver(notification: Notification): Promise<void> {
    let lastError = '';
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      if (this.shutdown.signal.aborted) return;
      const { signal, release } = this.attemptSignal();
      try {
        await this.sink.send(notification, signal);
        this.log.info('notification.sent', this.outcomeFields(notification, { attempts: attempt }));
        return;
      } catch (error) {
        if (this.shutdown.signal.aborted) {
          this.log.warn('notification.failed', this.outcomeFields(notification, { attempts: attempt, error: 'not sent: shutting down (flush deadline reached during a try)' }));
          return;
        }
        lastError = signal.aborted ? `no answer within ${this.options.attemptTimeoutMs} ms` : describeError(error);
      } finally {
        release();
      }
      if (attempt < this.options.attempts) await this.pause(Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (attempt - 1)));
    }
    this.log.error('notification.failed', this.outcomeFields(notification, { attempts: this.options.attempts, error: lastError }));
  }

  /** Aborted at shutdown or when the try takes too long (AbortSignal.any needs Node 20.3; engines says 20). */
  private attemptSignal(): { signal: AbortSignal; release: () => void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('timeout')), this.options.attemptTimeoutMs);
    timer.unref();
    const shutdown = this.shutdown.signal;
    const onShutdown = () => controller.abort(shutdown.reason);
    if (shutdown.aborted) onShutdown();
    else shutdown.addEventListener('abort', onShutdown, { once: true });
    return {
      signal: controller.signal,
      release: () => {
        clearTimeout(timer);
        shutdown.removeEventListener('abort', onShutdown);
      },
    };
  }

  /** A wait that ends early on shutdown and never keeps the process alive by itself. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const signal = this.shutdown.signal;
      signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
    });
  }

  /** Fields of `notification.*` events: what it was about and where, never a webhook's path. */
  private outcomeFields(notification: Notification, fields: Record<string, unknown>): Record<string, unknown> {
    return {
      ...(notification.runId && { runId: notification.runId }),
      ...(notification.certificate && { certificate: notification.certificate }),
      about: notification.event,
      channel: this.sink.channel,
      target: this.sink.target,
      ...fields,
    };
  }
}
