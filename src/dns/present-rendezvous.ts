/** How long a batch may wait for the participants still on the way. */
export interface GatherLimits {
  /** Go when nobody has arrived (or dropped out) for this long: a straggler that is stuck. */
  idleMs: number;
  /** Go after this long in any case. */
  maxMs: number;
}

/**
 * The participants of this process that may still bring Route 53 edits: the renewals of a pass that may
 * still present challenge values, or the renewals whose values are up and will be removed. A zone
 * batcher holds such edits back until every participant has arrived or dropped out, so all renewals of a
 * pass share one Route 53 change per zone and one INSYNC wait. With changes taking 20-60 s to reach
 * INSYNC, waiting for a renewal that is still ordering is far cheaper than a second change and a second
 * INSYNC wait for it. The wait ends early when nobody has made progress for `idleMs` (a stuck
 * participant must not hold the others for long) and after `maxMs` at the latest.
 */
export class PresentRendezvous {
  private onTheWay = 0;
  private lastProgressAt = Date.now();
  private readonly waiters = new Set<() => void>();

  /**
   * A participant is on the way. Call the returned function once it has handed its edits to the
   * batchers, or knows it will not (nothing due, failure, cancellation); calling it again is harmless.
   */
  expect(): () => void {
    this.onTheWay++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.onTheWay--;
      this.lastProgressAt = Date.now();
      if (this.onTheWay === 0) for (const wake of [...this.waiters]) wake();
    };
  }

  /** How many participants are still on the way (for tests and the audit log). */
  get waitingFor(): number {
    return this.onTheWay;
  }

  /** Resolves once nobody is on the way any more, or as `limits` allow, whichever comes first. */
  gathered(limits: GatherLimits): Promise<void> {
    if (this.onTheWay === 0) return Promise.resolve();
    const started = Date.now();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      // Checked when the idle or the overall limit could have been reached, not on every arrival.
      const check = () => {
        const now = Date.now();
        const idleUntil = Math.max(this.lastProgressAt, started) + limits.idleMs;
        const until = Math.min(idleUntil, started + limits.maxMs);
        if (now >= until) done();
        else timer = setTimeout(check, until - now);
      };
      this.waiters.add(done);
      check();
    });
  }
}
