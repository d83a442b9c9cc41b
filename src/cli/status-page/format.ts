/** How the status page writes moments: UTC to the second, and how far from now. */

/** `2026-12-07 14:26:36 UTC`; text that is not a time is shown as it is. */
export function formatTime(iso: string): string {
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : `${new Date(time).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `in 30.0 days`, `5 min ago`, `12 s ago`. */
export function relative(iso: string, now: string): string {
  const days = (Date.parse(iso) - Date.parse(now)) / 86_400_000;
  const seconds = Math.round(Math.abs(days) * 86_400);
  const amount = Math.abs(days) >= 1 ? `${Math.abs(days).toFixed(1)} days` : seconds >= 60 ? `${Math.round(seconds / 60)} min` : `${seconds} s`;
  return days >= 0 ? `in ${amount}` : `${amount} ago`;
}
