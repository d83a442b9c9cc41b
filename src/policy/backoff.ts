import { emergencyPoint } from './renewal-time.js';

const SECOND = 1_000;
const MINUTE = 60 * SECOND;

/**
 * Waits after failed attempts: about 1 min, 10 min, 100 min, then a day between tries, as certmagic
 * does; enough to ride out a CA or DNS hiccup without hammering, short enough to renew in time.
 */
export const BACKOFF_STEPS_MS = [MINUTE, 10 * MINUTE, 100 * MINUTE, 24 * 60 * MINUTE];

/**
 * A wait never takes more than this share of the time the certificate had left at the failure: after
 * a CA or AWS outage, the certificates closest to expiry are the first to try again (a 2-minute
 * certificate 40 s from expiry waits 10 s, not the step's minute; a 90-day one at 30 days left is not
 * affected).
 */
export const BACKOFF_SHARE_OF_REMAINING = 1 / 4;

type Validity = { notBefore: Date; notAfter: Date };

/**
 * When the next attempt may start. With the deployed certificate's validity, the wait is bounded by
 * its remaining lifetime (see above, but at least a thousandth of its lifetime, 1 s to 1 min, so an
 * expired certificate is not retried in a loop) and never reaches past its emergency point.
 */
export function backoffUntil(consecutiveFailures: number, lastFailureAt: Date, validity?: Validity): Date {
  const step = BACKOFF_STEPS_MS[Math.min(consecutiveFailures, BACKOFF_STEPS_MS.length) - 1] ?? 0;
  if (!validity) return new Date(lastFailureAt.getTime() + step);
  const lifetime = validity.notAfter.getTime() - validity.notBefore.getTime();
  const floor = Math.min(MINUTE, Math.max(SECOND, lifetime / 1000));
  const remaining = validity.notAfter.getTime() - lastFailureAt.getTime();
  const next = lastFailureAt.getTime() + Math.min(step, Math.max(floor, remaining * BACKOFF_SHARE_OF_REMAINING));
  const emergencyAt = emergencyPoint(validity).getTime();
  // Before the emergency point a wait ends there at the latest; in it, the short bounded wait applies.
  return new Date(lastFailureAt.getTime() < emergencyAt ? Math.min(next, emergencyAt) : next);
}
