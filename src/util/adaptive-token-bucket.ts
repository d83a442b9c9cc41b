import { sleep } from './sleep.js';

// After a throttle, the rate is cut by this factor (multiplicative decrease, as TCP and the AWS SDK's adaptive mode do).
const DECREASE_FACTOR = 0.5;
// Never slower than this (the AWS SDK's adaptive mode has the same floor): Route 53 still answers, only
// more slowly, and a renewal must go on; a throttled account's next answer comes at most 2 s after it is due.
const MIN_RATE = 0.5;
// Recovery is a cubic curve of the time since the last refusal (CUBIC, with the AWS SDK adaptive mode's
// constant): back at the rate it was refused at after cbrt(rate·(1 − DECREASE_FACTOR)/CUBIC_SCALE) seconds
// (1.8 s from 5/s), probing faster beyond it. Time, not answers, brings it back: recovery that waited for
// answers at the floor rate took 12 s to give back the 5/s after a 15 s throttle ended.
const CUBIC_SCALE = 0.4;
// While the rate is recovering, a waiting caller looks again this often: the wait shrinks as the rate grows.
const RECHECK_MS = 250;

/**
 * A token bucket that adapts: `ratePerSecond` tokens a second at most, `burst` saved up. An API's budget
 * (Route 53's 5 requests/s, ACM's 1 import/s, …) is the account's, shared with every other tool that uses
 * it: when the service says to slow down (`throttled()`), the rate is halved and the saved tokens
 * dropped, at most once per refill interval (the requests already on their way when the first refusal
 * came say nothing new); from then on it grows back with the time since that refusal (cubic, as the AWS
 * SDK's adaptive retry mode does), up to the configured rate. Every caller in the process that talks to
 * one account's API takes its tokens here, and learns here when the account is answered again (`answered`).
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  /** The last refusal: when, and the rate the bucket had then (cubic recovery starts from both). */
  private refusal?: { at: number; rateBefore: number; rateAfter: number };
  // Callers wait in arrival order, so no renewal starves behind later ones.
  private queue: Promise<void> = Promise.resolve();
  private readonly answerWaiters = new Set<() => void>();

  constructor(
    readonly ratePerSecond: number,
    readonly burst: number = Math.max(1, Math.floor(ratePerSecond)),
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.updatedAt = now();
  }

  /** The rate allowed now (requests per second): the configured one, or less shortly after throttling. */
  get currentRate(): number {
    return this.rateAt(this.now());
  }

  /** Resolves when a token is taken. */
  take(signal?: AbortSignal): Promise<void> {
    const turn = this.queue.then(() => this.takeNow(signal));
    this.queue = turn.catch(() => undefined);
    return turn;
  }

  /** How long until a token is available at the rate allowed now (0 = now); pure, for tests. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.currentRate) * 1000);
  }

  /** The service refused a request as over its budget (throttling; for Route 53 also a change still in progress): slow down. */
  throttled(): void {
    this.refill();
    const now = this.now();
    const rate = this.rateAt(now);
    if (this.refusal && now - this.refusal.at < 1000 / rate) return;
    this.refusal = { at: now, rateBefore: rate, rateAfter: Math.max(Math.min(MIN_RATE, this.ratePerSecond), rate * DECREASE_FACTOR) };
    this.tokens = Math.min(this.tokens, 0);
  }

  /** The service answered a request of this account: whoever waits out a refusal (`answered`) may go again now. */
  succeeded(): void {
    for (const wake of [...this.answerWaiters]) wake();
  }

  /**
   * Resolves at the next answer to any request of this account: a retry waiting out a throttle goes as
   * soon as the service answers again (through this bucket, which paces it), not at the end of its backoff.
   * Never rejects; `signal` ends the wait early.
   */
  answered(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.answerWaiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.answerWaiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
      if (signal?.aborted) done();
    });
  }

  /**
   * Waits out a refusal: `ms`, or until the account is answered again if that comes first (this bucket then
   * paces the retry, so a throttle that ended costs no backoff on top). Rejects only when `stop` aborts.
   */
  async afterRefusal(ms: number, stop?: AbortSignal): Promise<void> {
    const over = new AbortController();
    const until = stop ? AbortSignal.any([stop, over.signal]) : over.signal;
    void this.answered(until).then(() => over.abort());
    try {
      await sleep(ms, until);
    } catch (error) {
      if (stop?.aborted) throw error;
    } finally {
      over.abort();
    }
  }

  /** The allowed rate at `now`: cut at the last refusal, then cubic in the time since, capped by the configured rate. */
  private rateAt(now: number): number {
    if (!this.refusal) return this.ratePerSecond;
    const { at, rateBefore, rateAfter } = this.refusal;
    const recoveredInS = Math.cbrt(Math.max(0, rateBefore - rateAfter) / CUBIC_SCALE);
    const sinceS = (now - at) / 1000;
    const cubic = CUBIC_SCALE * (sinceS - recoveredInS) ** 3 + rateBefore;
    return Math.min(this.ratePerSecond, Math.max(rateAfter, cubic));
  }

  private async takeNow(signal?: AbortSignal): Promise<void> {
    for (let wait = this.waitMs(); wait > 0; wait = this.waitMs()) await sleep(this.currentRate < this.ratePerSecond ? Math.min(wait, RECHECK_MS) : wait, signal);
    this.tokens -= 1;
  }

  private refill(): void {
    const now = this.now();
    const rate = this.rateAt(now);
    // Below one request a second, no more than one saved up: a slowed-down bucket must not burst.
    const cap = Math.min(this.burst, Math.max(1, Math.floor(rate)));
    this.tokens = Math.min(cap, this.tokens + ((now - this.updatedAt) / 1000) * rate);
    this.updatedAt = now;
  }
}
