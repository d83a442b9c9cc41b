import cronParser from 'cron-parser';

// Enough firings to see a whole week of a weekday schedule ("0 3 * * 1-5" has a 3-day gap at weekends).
const SAMPLED_FIRINGS = 64;

/**
 * The longest gap between two consecutive firings of a cron schedule (node-schedule syntax: 5 fields,
 * or 6 with seconds), in milliseconds, looking ahead from `from`. The longest, not the average: a
 * health check must not call a weekday schedule stale every Monday morning.
 */
export function cronIntervalMs(cron: string, options: { timezone?: string; from?: Date } = {}): number {
  const expression = cronParser.parseExpression(cron, { currentDate: options.from ?? new Date(), tz: options.timezone });
  let previous = expression.next().getTime();
  let longest = 0;
  for (let i = 0; i < SAMPLED_FIRINGS; i++) {
    const next = expression.next().getTime();
    longest = Math.max(longest, next - previous);
    previous = next;
  }
  return longest;
}
