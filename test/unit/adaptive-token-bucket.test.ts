import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../../src/dns/token-bucket.js';

/** The account's Route 53 bucket adapts to a budget shared with other tools (issue 13, item 5), on a fake clock. */
describe('the adaptive Route 53 token bucket', () => {
  it('halves its rate when Route 53 throttles, and drops the tokens it had saved', async () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    expect(bucket.waitMs()).toBe(0);
    bucket.throttled();
    expect(bucket.currentRate).toBe(2.5);
    // No burst right after a refusal: the next token comes at the new rate.
    expect(bucket.waitMs()).toBe(400);
    now += 400;
    bucket.throttled();
    expect(bucket.currentRate).toBe(1.25);
  });

  it('counts refusals that arrive together once (the requests already sent say nothing new)', () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    bucket.throttled();
    now += 100;
    bucket.throttled();
    bucket.throttled();
    expect(bucket.currentRate).toBe(2.5);
    now += 400;
    bucket.throttled();
    expect(bucket.currentRate).toBe(1.25);
  });

  it('never drops below its floor, and below one request a second saves up at most one token', () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    for (let i = 0; i < 20; i++) {
      now += 10_000;
      bucket.throttled();
    }
    expect(bucket.currentRate).toBe(0.2);
    now += 60_000;
    expect(bucket.waitMs()).toBe(0);
    // One token saved, not twelve: a slowed-down bucket does not burst.
    return bucket.take().then(() => expect(bucket.waitMs()).toBe(5_000));
  });

  it('recovers step by step on answered requests, up to the configured rate and no further', () => {
    let now = 0;
    const bucket = new TokenBucket(4, 4, () => now);
    bucket.throttled();
    now += 1_000;
    bucket.throttled();
    expect(bucket.currentRate).toBe(1);
    bucket.succeeded();
    expect(bucket.currentRate).toBe(1.2);
    for (let i = 0; i < 14; i++) bucket.succeeded();
    expect(bucket.currentRate).toBeCloseTo(4);
    for (let i = 0; i < 10; i++) bucket.succeeded();
    expect(bucket.currentRate).toBe(4);
  });

  it('a configured rate below the floor stays as configured', () => {
    const bucket = new TokenBucket(0.1, 1, () => 0);
    bucket.throttled();
    expect(bucket.currentRate).toBe(0.1);
  });
});
