import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, type FileStore } from '../store/file-store.js';
import type { TxtRecord } from './route53-solver.js';

interface JournalEntry {
  pid: number;
  runId: string;
  certificate: string;
  records: TxtRecord[];
  at: string;
}

/**
 * Write-ahead note of the TXT values a renewal is about to publish, removed after clean-up. When a
 * process dies between the two (SIGKILL, power loss), the next pass finds the note and removes the
 * values, so no `_acme-challenge` record outlives the run that made it.
 */
export class ChallengeJournal {
  constructor(private readonly store: FileStore) {}

  note(runId: string, certificate: string, records: TxtRecord[]): () => void {
    const path = this.pathFor(runId, certificate);
    const entry: JournalEntry = { pid: process.pid, runId, certificate, records, at: new Date().toISOString() };
    this.store.write(path, entry);
    return () => this.store.remove(path);
  }

  /**
   * Entries whose run is over: left by processes that are gone, or by an earlier pass of this one
   * (passes in one process never overlap). Their records need removing.
   */
  orphans(): { entry: JournalEntry; forget: () => void }[] {
    let files: string[];
    try {
      files = readdirSync(join(this.store.dir, 'challenges')).filter((file) => file.endsWith('.json'));
    } catch {
      return [];
    }
    return files.flatMap((file) => {
      const path = `challenges/${file}`;
      const entry = this.store.read<JournalEntry>(path);
      if (!entry || (entry.pid !== process.pid && isAlive(entry.pid))) return [];
      return [{ entry, forget: () => this.store.remove(path) }];
    });
  }

  private pathFor(runId: string, certificate: string): string {
    return `challenges/${runId}-${certificate}.json`;
  }
}
