import type { Holder, StateStore } from '../store/state-store.js';
import type { TxtRecord } from './route53-solver.js';

interface JournalEntry {
  /** The full holder (host, boot id, pid, start time): judged like its lock. Entries written before holders existed have only a pid. */
  holder?: Holder;
  pid: number;
  runId: string;
  certificate: string;
  records: TxtRecord[];
  at: string;
}

/**
 * Write-ahead note of the TXT values a renewal is about to publish, removed after clean-up. When a
 * process dies between the two (SIGKILL, power loss), the next pass finds the note and removes the
 * values, so no `_acme-challenge` record outlives the run that made it. Kept in the state store:
 * files in stateDir, or the DynamoDB table (a scheduled task has no disk to find it on next time).
 */
export class ChallengeJournal {
  /** Passes of this process under way: the daemon may run several at once (never on one certificate). */
  private readonly runsUnderWay = new Set<string>();

  constructor(private readonly store: StateStore) {}

  /** A pass of this process starts: its entries are no orphans until it ends (call the function returned). */
  runStarted(runId: string): () => void {
    this.runsUnderWay.add(runId);
    return () => this.runsUnderWay.delete(runId);
  }

  async note(runId: string, certificate: string, records: TxtRecord[]): Promise<() => Promise<void>> {
    const key = `journal#${runId}#${certificate}` as const;
    const entry: JournalEntry = { holder: this.store.holder, pid: process.pid, runId, certificate, records, at: new Date().toISOString() };
    await this.store.put<JournalEntry>(key, entry);
    return () => this.store.delete(key);
  }

  /**
   * Entries whose run is over: left by a pass of this process that has ended, or by a process that is no longer at work: it does not hold the certificate's lease any more,
   * or its lease is stale by the same judgement that lets the next process take it over (another boot, its
   * process gone or its PID reused, its heartbeat expired). So a killed run's TXT records go with the next pass.
   */
  async orphans(): Promise<{ entry: JournalEntry; forget: () => Promise<void> }[]> {
    const found = await this.store.list<JournalEntry>('journal#');
    const orphans: { entry: JournalEntry; forget: () => Promise<void> }[] = [];
    for (const { key, value: entry } of found) {
      const holder = entry.holder ?? { id: `pid ${entry.pid}`, pid: entry.pid, host: '' };
      const mine = entry.holder ? entry.holder.id === this.store.holder.id : entry.pid === process.pid;
      if (mine && this.runsUnderWay.has(entry.runId)) continue;
      if (!mine && (await this.store.isAtWork(holder, entry.certificate))) continue;
      orphans.push({ entry, forget: () => this.store.delete(key) });
    }
    return orphans;
  }
}
