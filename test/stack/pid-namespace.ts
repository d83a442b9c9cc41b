import { readFileSync } from 'node:fs';
import { waitFor } from './ports.js';

/**
 * A command run as PID 1 of a new PID namespace, as node runs in a container without an init:
 * `unshare --pid --fork --mount-proc` (root only). `--kill-child=SIGKILL` ties the namespace to
 * unshare's life, so stopping unshare by PID (or the child-process watchdog killing it) ends the
 * namespace too. A new namespace for the restart is PID 1 again, as the next container is.
 */
export function inPidNamespace(command: string, args: string[]): { command: string; args: string[] } {
  return { command: 'unshare', args: ['--pid', '--fork', '--mount-proc', '--kill-child=SIGKILL', command, ...args] };
}

/**
 * The host PID of the namespace's PID 1 started by the unshare process `unsharePid`, once it exists
 * and has exec'd (its PID inside is checked to be 1). Kill it by this PID to kill "the container's" node.
 */
export async function namespaceInitPid(unsharePid: number, timeoutMs = 10_000): Promise<number> {
  return waitFor(
    () => {
      const child = Number(readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/)[0]);
      if (!child) return undefined;
      return pidsOf(child).at(-1) === 1 ? child : undefined;
    },
    { label: `the PID 1 of unshare ${unsharePid}'s namespace`, timeoutMs },
  );
}

/** NSpid of /proc/PID/status: the process's PID in each namespace it is in, outermost first. */
export function pidsOf(hostPid: number): number[] {
  const line = /^NSpid:\s+(.+)$/m.exec(readFileSync(`/proc/${hostPid}/status`, 'utf8'))?.[1] ?? '';
  return line.split(/\s+/).map(Number);
}
