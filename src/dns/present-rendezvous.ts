/**
 * The renewals of this process that may still bring challenge values to present. A zone batcher holds
 * new values back until every one of them has presented or turned out to need nothing (or until
 * `maxWaitMs` has passed), so all renewals of a pass share one Route 53 change per zone and one INSYNC
 * wait: with changes taking 20-60 s to reach INSYNC, waiting a few seconds for a straggler that is
 * still ordering is far cheaper than a second change and a second INSYNC wait for it.
 */
export class PresentRendezvous {
  private onTheWay = 0;
  private readonly waiters = new Set<() => void>();

  /**
   * A renewal starts (or may start) ordering. Call the returned function once it has handed its values
   * to the batchers, or knows it will not (nothing due, failure, cancellation); calling it again is harmless.
   */
  expect(): () => void {
    this.onTheWay++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.onTheWay--;
      if (this.onTheWay === 0) for (const wake of [...this.waiters]) wake();
    };
  }

  /** Resolves once nobody is on the way any more, or after `maxWaitMs`, whichever comes first. */
  gathered(maxWaitMs: number): Promise<void> {
    if (this.onTheWay === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiters.add(done);
    });
  }
}
