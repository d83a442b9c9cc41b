import { ROUTE53_NORMAL, type SoakCa } from './soak-ca.js';
import type { SoakDaemon } from './soak-daemon.js';
import type { SoakObserver } from './soak-observer.js';

/**
 * The faults of the soak, each aimed at a certificate that is due or about to be (read from what the
 * endpoints serve now), and each fair: a CA outage starts only when every certificate of that CA has
 * at least the outage plus 10 s of validity left, so the one it hits can still be renewed when the CA
 * is back. Every fault is logged with when it started and ended and what it hit.
 */
export interface InjectedFault {
  ca: string;
  kind: string;
  at: number;
  endedAt?: number;
  detail: string;
}

export interface FaultTarget {
  ca: SoakCa;
  daemon: SoakDaemon;
  observer: SoakObserver;
}

export type FaultStep = (target: FaultTarget, log: InjectedFault[]) => Promise<void>;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds of validity left when a certificate of this CA becomes due: ARI's default window opens at 5/9 of the lifetime (ari-proxy.ts), the backstop at half. */
function dueLeftS(ca: SoakCa): number {
  return ca.ari ? (ca.lifetimeS * 4) / 9 : ca.lifetimeS / 2;
}

/**
 * Waits (up to `timeoutMs`; certificates already expired never meet it) until the certificate closest to expiry has `low`..`high` seconds left;
 * returns it and its seconds left, or the closest one with `triggered: false` on timeout.
 */
async function closestToExpiry(target: FaultTarget, low: number, high: number, timeoutMs = 45_000): Promise<{ name: string; leftS: number; triggered: boolean }> {
  const aimed = await waitForClosest(target, low, high, timeoutMs);
  // Not hit just before a certificate came due: any moment when every certificate has `low` left will do,
  // so a fault stays fair (one that starts with less left tests the clock, not certkeeper).
  return aimed.triggered ? aimed : waitForClosest(target, low, Infinity, 2 * timeoutMs);
}

async function waitForClosest(target: FaultTarget, low: number, high: number, timeoutMs: number): Promise<{ name: string; leftS: number; triggered: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const left = target.observer.remaining(target.ca.label);
    const closest = left ? Object.entries(left).sort((a, b) => a[1] - b[1])[0] : undefined;
    if (closest && closest[1] >= low && closest[1] <= high) return { name: closest[0], leftS: closest[1], triggered: true };
    if (Date.now() > deadline) return { name: closest?.[0] ?? 'none', leftS: closest?.[1] ?? NaN, triggered: false };
    await sleep(100);
  }
}

const when = (hit: { name: string; leftS: number; triggered: boolean }) =>
  `${hit.name} had ${hit.leftS.toFixed(1)} s left${hit.triggered ? '' : ' (trigger not met within 135 s: injected anyway)'}`;

/** The CA stops answering (connections refused) for `seconds`, starting just before a certificate comes due. */
export function caOutage(seconds: number): FaultStep {
  return async (target, log) => {
    const hit = await closestToExpiry(target, seconds + 10, Math.max(seconds + 13, dueLeftS(target.ca) + 2));
    const fault: InjectedFault = { ca: target.ca.label, kind: `CA outage ${seconds} s`, at: Date.now(), detail: `${when(hit)}; due at ${dueLeftS(target.ca).toFixed(1)} s left` };
    log.push(fault);
    await target.ca.acme.down();
    await sleep(seconds * 1000);
    await target.ca.acme.up();
    fault.endedAt = Date.now();
  };
}

/**
 * Pebble stops for `seconds` and starts again forgetting every account, order and certificate (the
 * fault proxy in front answers 502 meanwhile), starting just before a certificate comes due.
 */
export function caRestart(seconds: number): FaultStep {
  return async (target, log) => {
    const hit = await closestToExpiry(target, seconds + 10, Math.max(seconds + 13, dueLeftS(target.ca) + 2));
    const fault: InjectedFault = {
      ca: target.ca.label,
      kind: `CA down ${seconds} s, restarted with no memory of accounts`,
      at: Date.now(),
      detail: `${when(hit)}; due at ${dueLeftS(target.ca).toFixed(1)} s left`,
    };
    log.push(fault);
    await target.ca.stopPebble();
    await sleep(seconds * 1000);
    await target.ca.restartPebble();
    fault.endedAt = Date.now();
  };
}

/** Route 53 answers Throttling ("Rate exceeded") beyond one request per 5 s for `seconds`, as a certificate comes due. */
export function route53Throttling(seconds: number): FaultStep {
  return async (target, log) => {
    const hit = await closestToExpiry(target, dueLeftS(target.ca) - 1, dueLeftS(target.ca) + 3);
    const fault: InjectedFault = { ca: target.ca.label, kind: `Route 53 Throttling ${seconds} s`, at: Date.now(), detail: when(hit) };
    log.push(fault);
    target.ca.route53.configure({ requestsPerSecond: 0.2 });
    await sleep(seconds * 1000);
    target.ca.route53.configure(ROUTE53_NORMAL);
    fault.endedAt = Date.now();
  };
}

/** The next `count` ChangeResourceRecordSets answer PriorRequestNotComplete, as a certificate comes due. */
export function route53PriorRequestNotComplete(count: number): FaultStep {
  return async (target, log) => {
    const hit = await closestToExpiry(target, dueLeftS(target.ca) - 1, dueLeftS(target.ca) + 3);
    log.push({ ca: target.ca.label, kind: `Route 53 PriorRequestNotComplete x${count}`, at: Date.now(), detail: when(hit) });
    target.ca.route53.configure({ priorRequestNotComplete: count });
  };
}

/**
 * SIGKILL of the daemon right after it logs `event` (mid-renewal), or, with 'idle', when no renewal is
 * under way; restarted after `restartAfterMs` (inside a new PID namespace when the daemon runs in one).
 */
export function killAndRestart(at: string, restartAfterMs = 1_000): FaultStep {
  return async (target, log) => {
    const { daemon } = target;
    let detail: string;
    if (at === 'idle') {
      const deadline = Date.now() + 60_000;
      while (daemon.renewalsInFlight().length > 0 && Date.now() < deadline) {
        await sleep(50);
        daemon.read();
      }
      const busy = daemon.renewalsInFlight();
      detail = busy.length === 0 ? 'no renewal under way' : `renewals of ${busy.join(', ')} still under way after 60 s`;
    } else {
      const event = await daemon.waitForEvent((candidate) => candidate.event === at, 45_000);
      detail = event ? `right after ${at} of ${event.certificate}` : `no ${at} within 45 s: killed anyway`;
    }
    const run = daemon.current!;
    const fault: InjectedFault = {
      ca: target.ca.label,
      kind: `SIGKILL${run.pidInside === 1 ? ' of PID 1 in a PID namespace' : ''}`,
      at: Date.now(),
      detail: `run #${run.index} (pid ${run.pidInside}) ${detail}`,
    };
    log.push(fault);
    await daemon.kill();
    await sleep(restartAfterMs);
    const next = await daemon.start();
    fault.endedAt = Date.now();
    fault.detail += `; restarted as run #${next.index} (pid ${next.pidInside})`;
  };
}

/**
 * Runs the steps of one CA in order, each no earlier than its share of the soak (`at` from 0 to 1),
 * none starting in the last 30 s (what it breaks must have time to show: such a step is logged as
 * "not injected"). A failure of the harness itself is logged as a "harness error" and ends the track.
 */
export async function runFaultTrack(
  target: FaultTarget,
  steps: { at: number; name: string; step: FaultStep }[],
  soak: { start: number; seconds: number },
  log: InjectedFault[],
): Promise<void> {
  const end = soak.start + soak.seconds * 1000;
  for (const [index, { at, name, step }] of steps.entries()) {
    const due = soak.start + at * soak.seconds * 1000;
    if (due > Date.now()) await sleep(due - Date.now());
    if (Date.now() > end - 30_000) {
      for (const skipped of steps.slice(index)) log.push({ ca: target.ca.label, kind: 'not injected', at: Date.now(), detail: `${skipped.name}: less than 30 s of the soak left` });
      return;
    }
    try {
      await step(target, log);
    } catch (error) {
      log.push({ ca: target.ca.label, kind: 'harness error', at: Date.now(), detail: `${name}: ${(error as Error).message}` });
      return;
    }
  }
}
