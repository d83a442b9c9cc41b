import { sleep } from '../util/sleep.js';

/**
 * A token bucket: `ratePerSecond` tokens a second, at most `burst` saved up. Route 53 allows 5 API
 * requests per second per account; every caller in the process that talks to one account takes its
 * tokens from one bucket, so concurrent renewals slow down instead of being throttled.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  // Callers wait in arrival order, so no renewal starves behind later ones.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number = Math.max(1, Math.floor(ratePerSecond)),
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** Resolves when a token is taken. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeNow(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** How long until a token is available (0 = now); pure, for tests. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.ratePerSecond) * 1000);
  }

  private async takeNow(signal?: AbortSignal): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await sleep(wait, signal);
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.updatedAt) / 1000) * this.ratePerSecond);
    this.updatedAt = now;
  }
}
