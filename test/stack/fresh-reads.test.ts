import { describe, expect, it } from 'vitest';
import { FreshReads } from './fresh-reads.js';

/** A read whose answer is the store's version when the read started; finished by hand. */
function controlledStore() {
  let version = 0;
  const pending: (() => void)[] = [];
  let reads = 0;
  const read = () => {
    reads++;
    const seen = version;
    return new Promise<number>((resolve) => pending.push(() => resolve(seen)));
  };
  return {
    read,
    write: () => void version++,
    finishAll: () => pending.splice(0).forEach((finish) => finish()),
    get reads() {
      return reads;
    },
  };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('FreshReads', () => {
  it('gives a caller that came during a read the next read, not the one in flight, and shares that next read', async () => {
    const store = controlledStore();
    const reads = new FreshReads(() => store.read());
    const first = reads.get('zone');
    store.write();
    const second = reads.get('zone');
    const third = reads.get('zone');
    store.finishAll();
    await settle();
    store.finishAll();
    expect(await first).toBe(0);
    expect(await second).toBe(1); // sees the write made before it asked
    expect(await third).toBe(1);
    expect(store.reads).toBe(2);
  });

  it('reads again for a caller after the reads ended, and keeps keys apart', async () => {
    const store = controlledStore();
    const reads = new FreshReads(() => store.read());
    const a = reads.get('a');
    const b = reads.get('b');
    store.finishAll();
    await Promise.all([a, b]);
    store.write();
    const again = reads.get('a');
    store.finishAll();
    expect(await again).toBe(1);
    expect(store.reads).toBe(3);
  });

  it('lets a failed read fail its callers only: the queued callers get a read of their own', async () => {
    let calls = 0;
    const reads = new FreshReads(async () => {
      calls++;
      if (calls === 1) throw new Error('moto unreachable');
      return calls;
    });
    const failing = reads.get('zone');
    const queued = reads.get('zone');
    await expect(failing).rejects.toThrow('moto unreachable');
    expect(await queued).toBe(2);
  });
});
