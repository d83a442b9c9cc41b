import { createHash } from 'node:crypto';
import { emptyLedger, pruneLedger, type RateLimitLedger } from './rate-limit-ledger.js';
import type { StateStore } from './state-store.js';

/** Where an issuer notes what the CA counts (orders, issuances, failed validations, its refusals). */
export type RateLimitNotes = Pick<RateLimitRecords, 'update'>;

/** The rate-limit ledger of one ACME account (one CA directory), shared by every agent using the store. */
export class RateLimitRecords {
  private readonly key: `ratelimits#${string}`;

  constructor(
    private readonly store: StateStore,
    directoryUrl: string,
  ) {
    this.key = `ratelimits#${createHash('sha256').update(directoryUrl).digest('hex').slice(0, 16)}`;
  }

  async get(): Promise<RateLimitLedger> {
    return { ...emptyLedger(), ...(await this.store.get<RateLimitLedger>(this.key)) };
  }

  async update(change: (ledger: RateLimitLedger) => void, now = new Date()): Promise<void> {
    await this.store.update<RateLimitLedger>(this.key, (current) => {
      const ledger = { ...emptyLedger(), ...current };
      change(ledger);
      return pruneLedger(ledger, now);
    });
  }
}
