/**
 * Concurrent callers of one read share it, but only a read that started after they called: each answer
 * is as fresh as a read of its own (what was written before the call is in it), while a burst of callers
 * costs at most the read in flight plus one more. The DNS server needs this: Pebble asks several times
 * per name at once, a pass of a hundred renewals makes hundreds of queries within a second, and a read of
 * moto per query queued behind the Route 53 client's sockets until Pebble's 2 s DNS timeout.
 */
export class FreshReads<T> {
  private readonly inFlight = new Map<string, Promise<T>>();
  private readonly queued = new Map<string, Promise<T>>();

  constructor(private readonly read: (key: string) => Promise<T>) {}

  get(key: string): Promise<T> {
    const running = this.inFlight.get(key);
    if (!running) return this.start(key);
    // The read in flight began before this call: wait for the next one, shared with whoever else comes.
    let next = this.queued.get(key);
    if (!next) {
      next = running
        .catch(() => undefined)
        .then(() => {
          this.queued.delete(key);
          return this.start(key);
        });
      this.queued.set(key, next);
    }
    return next;
  }

  private start(key: string): Promise<T> {
    const reading = this.read(key).finally(() => {
      if (this.inFlight.get(key) === reading) this.inFlight.delete(key);
    });
    this.inFlight.set(key, reading);
    return reading;
  }
}
