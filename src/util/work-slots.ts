/** A holder's turn at a slot: while it only waits, it lets another holder have the slot. */
export interface Turn {
  /** Gives the slot up while `wait` runs and takes one again (in queue order) before going on. */
  outside<T>(wait: () => Promise<T>): Promise<T>;
}

/**
 * At most `limit` holders working at once, served in the order they asked: a pass's `concurrency` (no
 * limit when it is unset: the request rates of the CA and AWS pace the renewals then).
 * Waiting (for a Route 53 change to reach INSYNC, for the other renewals of the pass to present) does not
 * need a slot, so a renewal that waits lets the next one order meanwhile, and all of them can meet in one
 * change per zone.
 */
export class WorkSlots {
  private free: number;
  private readonly queue: (() => void)[] = [];

  constructor(limit?: number) {
    this.free = limit === undefined ? Infinity : Math.max(1, limit);
  }

  /** Runs `work` holding a slot; it may give the slot up while it waits (see `Turn`). */
  async run<T>(work: (turn: Turn) => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await work({
        outside: async (wait) => {
          this.release();
          try {
            return await wait();
          } finally {
            await this.acquire();
          }
        },
      });
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.queue.push(resolve));
  }

  private release(): void {
    const next = this.queue.shift();
    if (next) next();
    else this.free++;
  }
}
