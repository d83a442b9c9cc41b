/** What a pass says about one certificate, as far as the plan is concerned. */
export interface PlannedLook {
  name: string;
  result: string;
  /** When it next needs a look: its planned renewal, the end of its backoff or hold, a lock's expiry. */
  nextAssessmentAt?: Date;
}

/** A certificate whose outcome named no time (e.g. skipped as busy) is looked at again this soon. */
export const LOOK_AGAIN_WITHOUT_PLAN_MS = 60_000;
/** After a pass that failed as a whole, what was due waits 10 s, doubled per failure in a row, at most 10 min. */
const FAILED_PASS_FIRST_WAIT_MS = 10_000;
const FAILED_PASS_MAX_WAIT_MS = 10 * 60_000;

/**
 * The daemon's memory of when each managed certificate next needs a look, from every pass it ran
 * (scheduled, woken, forced): a pass replaces the entries of the certificates it looked at and leaves
 * the others as they were, so no certificate's planned renewal is ever dropped. Pure: the caller
 * passes the time.
 */
export class WakeUpPlan {
  private readonly planned = new Map<string, number>();
  private failedPassesInARow = 0;

  /** Merges a pass's outcomes. A cancelled look (shutdown) keeps the previous entry. */
  merge(outcomes: PlannedLook[], now: number): void {
    this.failedPassesInARow = 0;
    for (const outcome of outcomes) {
      if (outcome.result === 'cancelled') continue;
      this.planned.set(outcome.name, outcome.nextAssessmentAt?.getTime() ?? now + LOOK_AGAIN_WITHOUT_PLAN_MS);
    }
  }

  /**
   * A pass for `names` (all when absent) failed as a whole: nothing was learnt, so their entries stay,
   * but those already due wait a little (growing while passes keep failing) instead of waking the
   * daemon at once again.
   */
  passFailed(names: string[] | undefined, now: number): void {
    this.failedPassesInARow += 1;
    const wait = Math.min(FAILED_PASS_MAX_WAIT_MS, FAILED_PASS_FIRST_WAIT_MS * 2 ** (this.failedPassesInARow - 1));
    for (const name of names ?? [...this.planned.keys()]) {
      const at = this.planned.get(name);
      if (at === undefined || at <= now) this.planned.set(name, now + wait);
    }
  }

  /** The earliest planned look and every certificate planned for that moment, leaving out `busy` ones (in a pass under way). */
  next(busy: ReadonlySet<string> = new Set()): { at: number; names: string[] } | undefined {
    const open = [...this.planned].filter(([name]) => !busy.has(name));
    if (open.length === 0) return undefined;
    const at = Math.min(...open.map(([, when]) => when));
    return { at, names: open.filter(([, when]) => when === at).map(([name]) => name) };
  }

  /** Every certificate whose look is due by `now`: one pass takes them all. */
  due(now: number): string[] {
    return [...this.planned].filter(([, at]) => at <= now).map(([name]) => name);
  }

  /** The planned moment of one certificate (for logs and tests). */
  plannedAt(name: string): number | undefined {
    return this.planned.get(name);
  }
}
