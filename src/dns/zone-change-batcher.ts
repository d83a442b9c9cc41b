import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ChangeResourceRecordSetsCommandOutput,
  type ListResourceRecordSetsCommandOutput,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { HostedZone } from './hosted-zones.js';
import { listRecordSets, normaliseName } from './hosted-zones.js';
import type { Route53Gateway } from './route53-gateway.js';
import { changesFor, desiredValues, splitIntoRequests, unquote, type CurrentTxt, type TxtEdit } from './txt-changes.js';

/** A change sent for a caller's edit, or none when the zone already looked as asked. */
export interface SentChange {
  changeId?: string;
}

interface PendingEdit extends TxtEdit {
  resolve: (sent: SentChange) => void;
  reject: (error: Error) => void;
}

// Route 53 lists at most 300 record sets per ListResourceRecordSets page.
const PAGE_SIZE = 300;
// Values that make a batch go at once, without waiting for more: well within one request's limits.
const MAX_PENDING_VALUES = 400;
// Another process changing the same names between our read and our write: read again, this often.
const MAX_CONFLICT_ROUNDS = 6;

export interface BatcherOptions {
  /** How long edits are collected before a flush (default 50 ms). */
  windowMs?: number;
  /** Resolves when the renewals still ordering have presented (see present-rendezvous.ts). */
  gatherAdds?: () => Promise<void>;
  /** Resolves when the renewals whose values are up have asked for their removal. */
  gatherRemovals?: () => Promise<void>;
}

/**
 * Coalesces TXT edits for one hosted zone from every concurrent renewal in the process: edits that
 * arrive within a short window of each other (or while the previous change is being sent) go out as one
 * ChangeResourceRecordSets call (split only at the API's limits), values for one name merged into one
 * record set. A batch that adds values first waits for `gatherAdds` (the renewals still ordering); one
 * that only removes waits for `gatherRemovals` (the renewals still validating), so a pass's clean-up is
 * one change per zone too. Flushes never overlap, so each one reads the zone after the previous one wrote it.
 */
export class ZoneChangeBatcher {
  private pending: PendingEdit[] = [];
  private timer?: NodeJS.Timeout;
  /** Ends a clean-up's gathering early: values to add have arrived. */
  private addArrived?: () => void;
  private flushing: Promise<void> = Promise.resolve();
  private readonly windowMs: number;

  constructor(
    private readonly gateway: Route53Gateway,
    readonly zone: HostedZone,
    private readonly options: BatcherOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 50;
  }

  edit(action: TxtEdit['action'], name: string, values: string[]): Promise<SentChange> {
    return new Promise((resolve, reject) => {
      this.pending.push({ action, name: normaliseName(name), values, resolve, reject });
      if (action === 'add') this.addArrived?.();
      if (this.full()) this.flushSoon(0);
      else this.flushSoon(this.windowMs);
    });
  }

  private flushSoon(delayMs: number): void {
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Edits that arrive while the previous flush runs (or while gathering) go out together in the next.
      this.flushing = this.flushing.then(async () => {
        if (!this.full()) {
          // A clean-up waits for the others of its pass, unless values to add arrive meanwhile: those must not
          // wait for clean-ups (which come only after they are up); they wait for the renewals still ordering.
          if (!this.hasAdds()) await Promise.race([this.options.gatherRemovals?.(), new Promise<void>((resolve) => (this.addArrived = resolve))]);
          this.addArrived = undefined;
          if (this.hasAdds()) await this.options.gatherAdds?.();
        }
        await this.flush();
      });
    }, delayMs);
  }

  private hasAdds(): boolean {
    return this.pending.some((edit) => edit.action !== 'remove');
  }

  private full(): boolean {
    return this.pending.reduce((sum, edit) => sum + edit.values.length, 0) >= MAX_PENDING_VALUES;
  }

  private async flush(): Promise<void> {
    const edits = this.pending;
    this.pending = [];
    if (edits.length > 0) await this.apply(edits, 1);
  }

  /** Reads the names, sends the changes; edits whose request met a concurrent writer go round again. */
  private async apply(edits: PendingEdit[], round: number): Promise<void> {
    let requests: Change[][];
    try {
      const names = [...new Set(edits.map((edit) => edit.name))];
      const current = await this.currentValues(names);
      requests = splitIntoRequests(changesFor(current, desiredValues(current, edits)));
    } catch (error) {
      for (const edit of edits) edit.reject(error as Error);
      return;
    }
    const changeIdByName = new Map<string, string>();
    const failures = new Map<string, Error>();
    const conflicted = new Set<string>();
    for (const changes of requests) {
      const names = changes.map((change) => normaliseName(change.ResourceRecordSet!.Name!));
      try {
        const answer = await this.gateway.send<ChangeResourceRecordSetsCommandOutput>(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: this.zone.id,
            // Says what the change is for in Route 53's change history.
            ChangeBatch: { Comment: edits.every((edit) => edit.action === 'remove') ? 'certkeeper: clean up ACME DNS-01 challenges' : 'certkeeper: ACME DNS-01 challenges', Changes: changes },
          }),
        );
        for (const name of names) changeIdByName.set(name, answer.ChangeInfo!.Id!);
      } catch (error) {
        const conflict = (error as Error).name === 'InvalidChangeBatch' && round < MAX_CONFLICT_ROUNDS;
        for (const name of names) (conflict ? conflicted.add(name) : failures.set(name, error as Error));
      }
    }
    const again: PendingEdit[] = [];
    for (const edit of edits) {
      const failure = failures.get(edit.name);
      if (conflicted.has(edit.name)) again.push(edit);
      else if (failure) edit.reject(failure);
      else edit.resolve({ changeId: changeIdByName.get(edit.name) });
    }
    if (again.length > 0) await this.apply(again, round + 1);
  }

  /**
   * The TXT values at these names now. Reading the whole zone costs one call per 300 record sets;
   * reading names one by one costs one call each: whichever is fewer.
   */
  private async currentValues(names: string[]): Promise<Map<string, CurrentTxt>> {
    const pages = Math.max(1, Math.ceil((this.zone.recordSetCount ?? Infinity) / PAGE_SIZE));
    const sets: ResourceRecordSet[] = [];
    if (names.length > pages) {
      sets.push(...(await listRecordSets(this.gateway, this.zone.id)));
    } else {
      for (const name of names) {
        const page = await this.gateway.send<ListResourceRecordSetsCommandOutput>(
          new ListResourceRecordSetsCommand({ HostedZoneId: this.zone.id, StartRecordName: name, StartRecordType: 'TXT', MaxItems: 1 }),
        );
        sets.push(...(page.ResourceRecordSets ?? []).slice(0, 1));
      }
    }
    const wanted = new Set(names);
    const current = new Map<string, CurrentTxt>();
    for (const set of sets) {
      const name = normaliseName(set.Name ?? '');
      if (set.Type !== 'TXT' || !wanted.has(name)) continue;
      const raw = (set.ResourceRecords ?? []).map((record) => record.Value ?? '');
      current.set(name, { ttl: set.TTL ?? 300, raw, values: raw.map(unquote) });
    }
    return current;
  }
}
