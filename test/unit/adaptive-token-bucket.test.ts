import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/util/adaptive-token-bucket.js';

/** The account's Route 53 bucket adapts to a budget shared with other tools (issue 13, item 5), on a fake clock. */
describe('the adaptive Route 53 token bucket', () => {
  it('halves its rate when Route 53 throttles, and drops the tokens it had saved', () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    expect(bucket.waitMs()).toBe(0);
    bucket.throttled();
    expect(bucket.currentRate).toBe(2.5);
    // No burst right after a refusal: the next token comes at the new rate.
    expect(bucket.waitMs()).toBe(400);
    now += 400;
    const before = bucket.currentRate;
    bucket.throttled();
    expect(bucket.currentRate).toBe(before / 2);
  });

  it('counts refusals that arrive together once (the requests already sent say nothing new)', () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    bucket.throttled();
    now += 100;
    bucket.throttled();
    bucket.throttled();
    expect(bucket.currentRate).toBeGreaterThan(2.5);
    now += 300;
    const before = bucket.currentRate;
    bucket.throttled();
    expect(bucket.currentRate).toBe(before / 2);
  });

  it('recovers with the time since the last refusal (cubic), without waiting for answers, up to the configured rate', () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    bucket.throttled();
    expect(bucket.currentRate).toBe(2.5);
    // Back at the rate it was refused at after cbrt(2.5 / 0.4) = 1.84 s: quickly at first, then slowly near it.
    now += 500;
    expect(bucket.currentRate).toBeCloseTo(4.03, 1);
    now += 1_342;
    expect(bucket.currentRate).toBeCloseTo(5, 2);
    now += 60_000;
    expect(bucket.currentRate).toBe(5);
  });

  it('refused again and again, settles where Route 53 refuses, then gives back the full rate within seconds', () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    // A throttle that lasts: every request refused, as soon as the bucket lets one go.
    for (let i = 0; i < 200; i++) {
      now += bucket.waitMs() || 1000 / bucket.currentRate;
      bucket.throttled();
    }
    expect(bucket.currentRate).toBeLessThan(1.5);
    // Once the refusals stop, the full rate is back within 3.5 s (it was 12 s when answers had to bring it back).
    now += 3_500;
    expect(bucket.currentRate).toBe(5);
  });

  it('never drops below its floor, and below one request a second saves up at most one token', async () => {
    let now = 0;
    const bucket = new TokenBucket(0.8, 1, () => now);
    bucket.throttled();
    expect(bucket.currentRate).toBe(0.5);
    now += 60_000;
    expect(bucket.currentRate).toBe(0.8);
    expect(bucket.waitMs()).toBe(0);
    // One token saved, not forty-eight: a bucket below one a second does not burst.
    await bucket.take();
    expect(bucket.waitMs()).toBe(1_250);
  });

  it('a configured rate below the floor stays as configured', () => {
    const bucket = new TokenBucket(0.1, 1, () => 0);
    bucket.throttled();
    expect(bucket.currentRate).toBe(0.1);
  });

  it('wakes every caller waiting out a refusal at the next answer, and lets a signal end the wait', async () => {
    const bucket = new TokenBucket(5);
    const woken: string[] = [];
    const first = bucket.answered().then(() => woken.push('first'));
    const second = bucket.answered().then(() => woken.push('second'));
    const stop = new AbortController();
    const third = bucket.answered(stop.signal).then(() => woken.push('third, stopped'));
    stop.abort();
    await third;
    expect(woken).toEqual(['third, stopped']);
    bucket.succeeded();
    await Promise.all([first, second]);
    expect(woken).toEqual(['third, stopped', 'first', 'second']);
  });
});
