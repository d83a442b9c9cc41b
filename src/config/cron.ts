import cronParser from 'cron-parser';

/**
 * A cron expression the daemon's scheduler can run: parsed, and with a next firing, by cron-parser, the
 * parser node-schedule itself uses. Parsing only: validating a config schedules no job and starts no timer.
 * A date ("2030-01-01") is refused: node-schedule would run it once, but it is not a schedule.
 */
export function isValidCron(expression: string): boolean {
  try {
    cronParser.parseExpression(expression).next();
    return true;
  } catch {
    return false;
  }
}
