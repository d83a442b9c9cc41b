import { createHash } from 'node:crypto';
import { emptyLedger, pruneLedger, type RateLimitLedger } from '../policy/rate-limits.js';
import type { FileStore } from './file-store.js';

/** The rate-limit ledger of one ACME account (one CA directory), kept in the state directory. */
export class RateLimitRecords {
  private readonly path: string;

  constructor(
    private readonly store: FileStore,
    directoryUrl: string,
  ) {
    this.path = `ratelimits/${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}.json`;
  }

  get(): RateLimitLedger {
    return { ...emptyLedger(), ...this.store.read<RateLimitLedger>(this.path) };
  }

  update(change: (ledger: RateLimitLedger) => void, now = new Date()): void {
    const ledger = this.get();
    change(ledger);
    this.store.write(this.path, pruneLedger(ledger, now));
  }
}
