const MINUTE = 60_000;

/**
 * Waits after failed attempts: about 1 min, 10 min, 100 min, then a day between tries, as certmagic
 * does; enough to ride out a CA or DNS hiccup without hammering, short enough to renew in time.
 */
export const BACKOFF_STEPS_MS = [MINUTE, 10 * MINUTE, 100 * MINUTE, 24 * 60 * MINUTE];

/** When the next attempt may start; never later than the emergency point, when there is one. */
export function backoffUntil(consecutiveFailures: number, lastFailureAt: Date, emergencyAt?: Date): Date {
  const step = BACKOFF_STEPS_MS[Math.min(consecutiveFailures, BACKOFF_STEPS_MS.length) - 1] ?? 0;
  const next = lastFailureAt.getTime() + step;
  return new Date(emergencyAt ? Math.min(next, Math.max(emergencyAt.getTime(), lastFailureAt.getTime())) : next);
}
