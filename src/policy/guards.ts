import { backoffUntil } from './backoff.js';
import type { Chain, PolicyCheck } from './chain.js';
import { Check } from './checks.js';
import type { RateLimitBlock } from './decision-input.js';
import { iso } from './describe.js';
import { CLOCK_TOLERANCE_MS } from '../store/clock-tolerance.js';

/**
 * Guards: why not order yet, each a hold until a time. Evaluated only when a trigger fired; how they
 * yield at the emergency point is policy/decide.ts's to say.
 */

// Failure backoff, bounded by the lifetime left; not for forced renewals nor past the emergency point
// (expired or less than 1/20 left: "no working certificate soon" outweighs it).
const backoff: PolicyCheck = ({ now, history, force, soonest, validity }) => {
  const emergencyNow = validity !== undefined && now >= validity.emergencyAt;
  if (force || emergencyNow || !history || history.consecutiveFailures <= 0 || !history.lastFailureAt) return [];
  // A failure recorded in the future comes from a clock that ran ahead: not believed (it would hold for as long).
  if (history.lastFailureAt.getTime() > now.getTime() + CLOCK_TOLERANCE_MS) return [];
  const retryAt = backoffUntil(history.consecutiveFailures, history.lastFailureAt, soonest);
  if (retryAt <= now) return [];
  const failures = history.consecutiveFailures;
  return [
    {
      check: Check.Backoff,
      hold: { kind: 'guard', until: retryAt },
      message: `waiting until ${iso(retryAt)} before trying again: ${failures} failed attempt${failures === 1 ? '' : 's'} in a row (last at ${iso(history.lastFailureAt)})`,
    },
  ];
};

// certkeeper's guards of the CA's limits and the CA's own refusals (policy/rate-limits.ts computes them):
// not with ignoreRateLimits, and not for deploying a kept certificate, which orders nothing.
const rateLimited: PolicyCheck = ({ now, rateLimits = [], ignoreRateLimits, issued }) =>
  ignoreRateLimits || issued ? [] : rateLimits.filter((block) => block.kind !== 'clock' && block.until > now).map(asHold);

// A clock that disagrees with the CA's last certificate: ordering again gets the same answer. Only --force tries anyway.
const clockSkew: PolicyCheck = ({ now, rateLimits = [], force }) => (force ? [] : rateLimits.filter((block) => block.kind === 'clock' && block.until > now).map(asHold));

function asHold({ check, kind, until, since, reason }: RateLimitBlock) {
  return { check, message: reason, hold: { kind, until, ...(since && { since }) } };
}

export const guards: Chain = { name: 'guards', checks: [backoff, rateLimited, clockSkew] };
