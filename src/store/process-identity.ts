import { readFileSync } from 'node:fs';

/**
 * What proves which process holds a lock, beyond a PID that the next boot or the next container reuses:
 * the kernel's boot id and the process's start time. Both come from /proc and are absent off Linux (or
 * when /proc cannot be read); the lock's heartbeat still bounds how long such a lock can block.
 */

/** The kernel's boot id: a new one at every boot, shared by every container on the host. */
export function readBootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Start time of a running process (field 22 of /proc/PID/stat, clock ticks after boot), or undefined
 * when it cannot be read. `self` reads this process's own entry, whatever PID namespace /proc shows.
 */
export function readStartTime(pid: number | 'self'): string | undefined {
  try {
    return parseStartTime(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Field 22 of a /proc/PID/stat line. The second field is the command name in parentheses and may itself
 * hold spaces and ')' (a process can name itself anything), so fields are counted after the LAST ')'.
 */
export function parseStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") " come fields 3 (state), 4, …: field 22 is the 20th of them.
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  const startTime = fields[22 - 3];
  return startTime && /^\d+$/.test(startTime) ? startTime : undefined;
}

/** Whether a process with this PID exists (EPERM: it does, owned by someone else). */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
