import { sleep } from '../util/sleep.js';

// After a throttle, the rate is cut by this factor (multiplicative decrease, as TCP and the AWS SDK's adaptive mode do).
const DECREASE_FACTOR = 0.5;
// Never slower than this: Route 53 still answers, only more slowly, and a renewal must go on.
const MIN_RATE = 0.2;
// Each success gives back this share of the configured rate (additive increase): from the floor to the
// full rate in about 20 answered requests, so a burst of throttling is forgotten within a pass.
const RECOVERY_SHARE = 0.05;

/**
 * A token bucket that adapts: `ratePerSecond` tokens a second at most, `burst` saved up. Route 53 allows 5
 * API requests per second per account, but that budget is the account's, shared with every other tool
 * that uses it: when Route 53 says to slow down (`throttled()`), the rate is halved and the saved tokens
 * dropped, at most once per refill interval (the requests already on their way when the first refusal
 * came say nothing new); each answered request (`succeeded()`) raises it again by a step, up to the
 * configured rate (AIMD). Every caller in the process that talks to one account takes its tokens here.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private rate: number;
  private lastDecreaseAt = -Infinity;
  // Callers wait in arrival order, so no renewal starves behind later ones.
  private queue: Promise<void> = Promise.resolve();

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number = Math.max(1, Math.floor(ratePerSecond)),
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
    this.rate = ratePerSecond;
  }

  /** The rate allowed now (requests per second): the configured one, or less after throttling. */
  get currentRate(): number {
    return this.rate;
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
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.rate) * 1000);
  }

  /** Route 53 refused a request as over its budget (Throttling, or a change still in progress): slow down. */
  throttled(): void {
    this.refill();
    const now = this.now();
    if (now - this.lastDecreaseAt < 1000 / this.rate) return;
    this.lastDecreaseAt = now;
    this.rate = Math.max(Math.min(MIN_RATE, this.ratePerSecond), this.rate * DECREASE_FACTOR);
    this.tokens = Math.min(this.tokens, 0);
  }

  /** Route 53 answered a request: recover a step towards the configured rate. */
  succeeded(): void {
    if (this.rate >= this.ratePerSecond) return;
    this.refill();
    this.rate = Math.min(this.ratePerSecond, this.rate + this.ratePerSecond * RECOVERY_SHARE);
  }

  private async takeNow(signal?: AbortSignal): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await sleep(wait, signal);
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.now();
    // Below one request a second, no more than one saved up: a slowed-down bucket must not burst.
    const cap = Math.min(this.burst, Math.max(1, Math.floor(this.rate)));
    this.tokens = Math.min(cap, this.tokens + ((now - this.updatedAt) / 1000) * this.rate);
    this.updatedAt = now;
  }
}
