import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renewalWaves } from '../../src/agent/pass.js';
import { PresentRendezvous } from '../../src/dns/present-rendezvous.js';
import { WorkSlots } from '../../src/util/work-slots.js';

/**
 * What lets every renewal of a pass meet in one Route 53 change per zone: renewals give their work slot
 * up while they wait on Route 53, and the batchers wait for the renewals still on the way.
 */
describe('WorkSlots', () => {
  it('lets at most `limit` work at once, in the order they asked', async () => {
    const slots = new WorkSlots(2);
    let working = 0;
    let most = 0;
    const started: number[] = [];
    await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        slots.run(async () => {
          started.push(index);
          most = Math.max(most, ++working);
          await new Promise((resolve) => setTimeout(resolve, 5));
          working--;
        }),
      ),
    );
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('gives the slot up while a holder waits, so the others reach the same point, and takes one back after', async () => {
    const slots = new WorkSlots(1);
    const atMeeting: number[] = [];
    let meet!: () => void;
    const meeting = new Promise<void>((resolve) => (meet = resolve));
    let working = 0;
    let most = 0;
    const done = Promise.all(
      Array.from({ length: 4 }, (_, index) =>
        slots.run(async (turn) => {
          most = Math.max(most, ++working);
          working--;
          // Each waits for all four to arrive: with the slot held, the first would wait for ever.
          await turn.outside(async () => {
            atMeeting.push(index);
            if (atMeeting.length === 4) meet();
            await meeting;
          });
          most = Math.max(most, ++working);
          await new Promise((resolve) => setTimeout(resolve, 2));
          working--;
        }),
      ),
    );
    await done;
    expect(atMeeting).toEqual([0, 1, 2, 3]);
    expect(most).toBe(1);
  });

  it('takes the slot back even when the wait fails, and frees it when the work fails', async () => {
    const slots = new WorkSlots(1);
    await expect(slots.run((turn) => turn.outside(() => Promise.reject(new Error('INSYNC timeout'))))).rejects.toThrow('INSYNC timeout');
    // Had the slot leaked, this would never start.
    await expect(slots.run(async () => 'next')).resolves.toBe('next');
  });
});

describe('PresentRendezvous', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('resolves at once with nobody on the way, and as soon as the last one arrives', async () => {
    const rendezvous = new PresentRendezvous();
    await rendezvous.gathered({ idleMs: 10_000, maxMs: 60_000 });
    const [first, second] = [rendezvous.expect(), rendezvous.expect()];
    let gathered = false;
    void rendezvous.gathered({ idleMs: 10_000, maxMs: 60_000 }).then(() => (gathered = true));
    await vi.advanceTimersByTimeAsync(3_000);
    first();
    first(); // a second call is harmless: it does not count as the other one
    await vi.advanceTimersByTimeAsync(3_000);
    expect(gathered).toBe(false);
    second();
    await vi.advanceTimersByTimeAsync(0);
    expect(gathered).toBe(true);
    expect(rendezvous.waitingFor).toBe(0);
  });

  it('keeps waiting while participants keep arriving, up to maxMs', async () => {
    const rendezvous = new PresentRendezvous();
    const arrivals = Array.from({ length: 10 }, () => rendezvous.expect());
    let gatheredAt: number | undefined;
    const start = Date.now();
    void rendezvous.gathered({ idleMs: 5_000, maxMs: 30_000 }).then(() => (gatheredAt = Date.now() - start));
    // One arrives every 4 s (within idleMs), and one never does.
    for (const arrived of arrivals.slice(0, 9)) {
      await vi.advanceTimersByTimeAsync(4_000);
      arrived();
    }
    expect(gatheredAt).toBe(30_000);
  });

  it('stops waiting once nobody has made progress for idleMs', async () => {
    const rendezvous = new PresentRendezvous();
    const [arrives] = [rendezvous.expect(), rendezvous.expect()];
    let gatheredAt: number | undefined;
    const start = Date.now();
    void rendezvous.gathered({ idleMs: 5_000, maxMs: 60_000 }).then(() => (gatheredAt = Date.now() - start));
    await vi.advanceTimersByTimeAsync(3_000);
    arrives();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(gatheredAt).toBe(8_000);
  });
});

describe('renewalWaves', () => {
  const due = (names: number) => ({ spec: { domains: Array.from({ length: names }, (_, index) => `n${index}.example`) } });

  it('keeps a whole pass of due certificates in one wave while it has at most 300 names', () => {
    expect(renewalWaves(Array.from({ length: 150 }, () => due(2))).map((wave) => wave.length)).toEqual([150]);
    expect(renewalWaves([])).toEqual([]);
  });

  it('splits beyond 300 names, in order, and gives a larger certificate a wave of its own', () => {
    const certificates = [...Array.from({ length: 200 }, () => due(2)), due(400), due(1)];
    const waves = renewalWaves(certificates);
    expect(waves.map((wave) => wave.length)).toEqual([150, 50, 1, 1]);
    expect(waves.flat()).toEqual(certificates);
    for (const wave of waves) if (wave.length > 1) expect(wave.reduce((sum, entry) => sum + entry.spec.domains.length, 0)).toBeLessThanOrEqual(300);
  });
});
