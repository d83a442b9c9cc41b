import { describe, expect, it } from 'vitest';
import { LOOK_AGAIN_WITHOUT_PLAN_MS, WakeUpPlan, type PlannedLook } from '../../src/agent/wake-up-plan.js';

const S = 1_000;
const t0 = Date.parse('2026-11-22T12:00:00Z');
const at = (seconds: number) => new Date(t0 + seconds * S);
const look = (name: string, seconds: number | undefined, result = 'unchanged'): PlannedLook => ({
  name,
  result,
  nextAssessmentAt: seconds === undefined ? undefined : at(seconds),
});

/**
 * Replays a daemon with a cron that never fires: each wake-up runs one pass for the certificates due,
 * whose renewal plans the next look half a lifetime later. Returns, per certificate, when it was looked at.
 */
function simulate(plan: WakeUpPlan, lifetimeS: number, untilS: number): Map<string, number[]> {
  const looks = new Map<string, number[]>();
  for (let guard = 0; guard < 1000; guard++) {
    const next = plan.next();
    if (!next || next.at > t0 + untilS * S) break;
    const due = plan.due(next.at);
    for (const name of due) looks.set(name, [...(looks.get(name) ?? []), (next.at - t0) / S]);
    plan.merge(
      due.map((name) => look(name, (next.at - t0) / S + lifetimeS / 2, 'renewed')),
      next.at,
    );
  }
  return looks;
}

describe('the wake-up plan', () => {
  it('keeps the next look of every certificate, not only of those in the last pass', () => {
    const plan = new WakeUpPlan();
    plan.merge([look('a', 120), look('b', 128), look('c', 136), look('d', 144)], t0);
    expect(plan.next()).toEqual({ at: t0 + 120 * S, names: ['a'] });
    // The pass for `a` alone says nothing about the others: they keep their plan.
    plan.merge([look('a', 240, 'renewed')], t0 + 120 * S);
    expect(plan.next()).toEqual({ at: t0 + 128 * S, names: ['b'] });
    expect(['a', 'b', 'c', 'd'].map((name) => plan.plannedAt(name))).toEqual([240, 128, 136, 144].map((s) => t0 + s * S));
  });

  it('staggered short-lived certificates, a cron that never fires: each is looked at every half lifetime, none forgotten', () => {
    const plan = new WakeUpPlan();
    // Four 240-second certificates issued 8 s apart, as in the issue.
    plan.merge([look('a', 120), look('b', 128), look('c', 136), look('d', 144)], t0);
    const looks = simulate(plan, 240, 2_000);
    for (const name of ['a', 'b', 'c', 'd']) {
      const times = looks.get(name)!;
      expect(times.length, name).toBeGreaterThanOrEqual(15);
      // Never more than half a lifetime between two looks: renewed long before expiry.
      expect(Math.max(...times.slice(1).map((time, i) => time - times[i]!)), name).toBe(120);
    }
  });

  it('one pass takes every certificate due by then', () => {
    const plan = new WakeUpPlan();
    plan.merge([look('a', 10), look('b', 10), look('c', 12), look('d', 30)], t0);
    expect(plan.next()!.names).toEqual(['a', 'b']);
    // The timer fired late (a long pass): c is due as well.
    expect(plan.due(t0 + 13 * S)).toEqual(['a', 'b', 'c']);
  });

  it('a failure plans its retry, a look without a time (busy) is retried soon, a cancelled look keeps the old plan', () => {
    const plan = new WakeUpPlan();
    plan.merge([look('a', 100), look('b', 100), look('c', 100)], t0);
    plan.merge([look('a', 15, 'failed'), look('b', undefined, 'busy'), look('c', undefined, 'cancelled')], t0 + 10 * S);
    expect(plan.plannedAt('a')).toBe(t0 + 15 * S);
    expect(plan.plannedAt('b')).toBe(t0 + 10 * S + LOOK_AGAIN_WITHOUT_PLAN_MS);
    expect(plan.plannedAt('c')).toBe(t0 + 100 * S);
  });

  it('after a pass that failed as a whole, what was due waits a little longer each time (10 s doubling, at most 10 min), the rest keeps its plan', () => {
    const plan = new WakeUpPlan();
    plan.merge([look('a', 5), look('b', 5_000)], t0);
    const waits: number[] = [];
    let now = t0 + 5 * S;
    for (let i = 0; i < 8; i++) {
      plan.passFailed(undefined, now);
      waits.push((plan.plannedAt('a')! - now) / S);
      now = plan.plannedAt('a')!;
    }
    expect(waits).toEqual([10, 20, 40, 80, 160, 320, 600, 600]);
    expect(plan.plannedAt('b')).toBe(t0 + 5_000 * S);
    // A pass that works again resets the doubling.
    plan.merge([look('a', 5, 'failed')], now);
    plan.passFailed(['a'], now + 10 * S);
    expect(plan.plannedAt('a')).toBe(now + 20 * S);
  });

  it('leaves out certificates in a pass under way: the next wake-up is for the others', () => {
    const plan = new WakeUpPlan();
    plan.merge([look('stuck', 10), look('other', 30)], t0);
    expect(plan.next(new Set(['stuck']))).toEqual({ at: t0 + 30 * S, names: ['other'] });
    expect(plan.next(new Set(['stuck', 'other']))).toBeUndefined();
    expect(plan.next()).toEqual({ at: t0 + 10 * S, names: ['stuck'] });
  });

  it('has nothing to wake for before the first pass', () => {
    expect(new WakeUpPlan().next()).toBeUndefined();
  });
});
