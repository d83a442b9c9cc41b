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
import { deadlineOf } from '../util/deadline-signal.js';
import type { Route53Gateway, SendOptions } from './route53-gateway.js';
import { changesFor, desiredValues, splitIntoRequests, unquote, type CurrentTxt, type TxtEdit } from './txt-changes.js';

/** A change sent for a caller's edit, or none when the zone already looked as asked. */
export interface SentChange {
  changeId?: string;
}

/** Who asks for an edit: one renewal's presentation or clean-up. */
export interface EditCaller {
  /** The same object for every edit of one presentation (or clean-up): a split retries them together. */
  owner: object;
  /** The renewal's signal: its change is retried while it has not aborted (see deadline-signal.ts). */
  signal?: AbortSignal;
  /** When the certificate served now expires (epoch ms): a batch with this edit gathers for a share of the time left at most. */
  servedUntil?: number;
}

interface PendingEdit extends TxtEdit, EditCaller {
  resolve: (sent: SentChange) => void;
  reject: (error: Error) => void;
}

// Route 53 lists at most 300 record sets per ListResourceRecordSets page.
const PAGE_SIZE = 300;
// Values that make a batch go at once, without waiting for more: well within one request's limits.
const MAX_PENDING_VALUES = 400;
// Another process changing the same names between our read and our write: read again, this often.
const MAX_CONFLICT_ROUNDS = 6;
// How long refusals of a change are retried for callers without a signal (clean-ups): time, not a count.
const UNSIGNALLED_RETRY_MS = 120_000;
// A shared change is retried for this share of the time its tightest renewal has left; then each
// renewal's values go on their own, with the rest of its time, so one bad value fails only its renewal.
const SHARED_SHARE_OF_TIME = 0.5;
// A batch waits for the renewals still ordering at most this share of the time its most urgent value's
// certificate has left: a second change costs its stragglers one more INSYNC wait, an expiry costs an outage.
const GATHER_SHARE_OF_TIME_LEFT = 0.1;
// Route 53's refusals of a batch that mean another writer changed the names since they were read.
const CONFLICT = /already exists|was not found|values provided do not match/;

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
 * record set. A batch that adds values first waits for `gatherAdds` (the renewals still ordering: not
 * longer than GATHER_SHARE_OF_TIME_LEFT of what its most urgent certificate has left); one
 * that only removes waits for `gatherRemovals` (the renewals still validating), so a pass's clean-up is
 * one change per zone too. Flushes never overlap, so each one reads the zone after the previous one wrote it.
 *
 * Route 53 shared with other tools refuses changes for a while (Throttling, PriorRequestNotComplete):
 * a change is retried as long as its renewals have time (their deadlines, not a count). A change that
 * still fails, or that Route 53 refuses as invalid, is split: each renewal's values are tried in a change
 * of their own, so a bad value or a lasting conflict fails only the renewal it belongs to.
 */
export class ZoneChangeBatcher {
  private pending: PendingEdit[] = [];
  private timer?: NodeJS.Timeout;
  /** Ends a clean-up's gathering early: values to add have arrived. */
  private addArrived?: () => void;
  private flushing: Promise<void> = Promise.resolve();
  private readonly windowMs: number;
  /** Route 53 is refusing this zone's change right now (throttled, a prior change in progress): wakes the waiters when it ends. */
  private refusing?: { over: Promise<void>; end: () => void };
  /** While a batch gathers adds: looks again at how long the most urgent of them lets it wait. */
  private urgencyChanged?: () => void;

  constructor(
    private readonly gateway: Route53Gateway,
    readonly zone: HostedZone,
    private readonly options: BatcherOptions = {},
  ) {
    this.windowMs = options.windowMs ?? 50;
  }

  edit(action: TxtEdit['action'], name: string, values: string[], caller: EditCaller = { owner: {} }): Promise<SentChange> {
    return new Promise((resolve, reject) => {
      this.pending.push({ action, name: normaliseName(name), values, owner: caller.owner, signal: caller.signal, servedUntil: caller.servedUntil, resolve, reject });
      if (action === 'add') this.addArrived?.();
      if (action === 'add' && caller.servedUntil !== undefined) this.urgencyChanged?.();
      if (this.full()) this.flushSoon(0);
      else this.flushSoon(this.windowMs);
    });
  }

  /**
   * Resolves once Route 53 is not refusing this zone's change (it answers, or the change gave up): a
   * renewal waits here before it creates an order, so the order is not spent while the zone's change is
   * being refused (see route53-challenge-solver.ts, `prepare`). Ends early, without error, when the signal aborts.
   */
  accepting(signal?: AbortSignal): Promise<void> {
    const refusing = this.refusing;
    if (!refusing) return Promise.resolve();
    if (!signal) return refusing.over;
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener('abort', done);
        resolve();
      };
      signal.addEventListener('abort', done, { once: true });
      void refusing.over.then(done);
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
          if (this.hasAdds()) await this.gatherAdds();
        }
        await this.flush();
      });
    }, delayMs);
  }

  /** Waits for the renewals still ordering (`gatherAdds`), but no longer than the most urgent value waiting lets it. */
  private async gatherAdds(): Promise<void> {
    const gathered = this.options.gatherAdds?.();
    if (!gathered) return;
    let timer: NodeJS.Timeout | undefined;
    let go!: () => void;
    const urgent = new Promise<void>((resolve) => (go = resolve));
    this.urgencyChanged = () => {
      const servedUntil = Math.min(...this.pending.filter((edit) => edit.action === 'add').map((edit) => edit.servedUntil ?? Infinity));
      if (servedUntil === Infinity) return;
      clearTimeout(timer);
      timer = setTimeout(go, Math.max(0, (servedUntil - Date.now()) * GATHER_SHARE_OF_TIME_LEFT));
    };
    this.urgencyChanged();
    try {
      await Promise.race([gathered, urgent]);
    } finally {
      clearTimeout(timer);
      this.urgencyChanged = undefined;
    }
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
    if (edits.length > 0) await this.apply(edits, 1, false);
  }

  /**
   * Reads the names, sends the changes; edits whose request met a concurrent writer go round again, and
   * edits whose shared request still failed are split by caller (`alone`: already split).
   */
  private async apply(edits: PendingEdit[], round: number, alone: boolean): Promise<void> {
    let requests: Change[][];
    // Reads are retried for as long as a caller waits, like the change itself.
    const readPatience = retryBudget(edits, true);
    try {
      const names = [...new Set(edits.map((edit) => edit.name))];
      const current = await this.currentValues(names, { retryUntil: readPatience.signal });
      requests = splitIntoRequests(changesFor(current, desiredValues(current, edits)));
    } catch (error) {
      for (const edit of edits) edit.reject(error as Error);
      return;
    } finally {
      readPatience.dispose();
    }
    const changeIdByName = new Map<string, string>();
    const failures = new Map<string, Error>();
    const conflicted = new Set<string>();
    for (const changes of requests) {
      const names = changes.map((change) => normaliseName(change.ResourceRecordSet!.Name!));
      const callers = edits.filter((edit) => names.includes(edit.name));
      const patience = retryBudget(callers, alone);
      try {
        const answer = await this.gateway.send<ChangeResourceRecordSetsCommandOutput>(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: this.zone.id,
            // Says what the change is for in Route 53's change history.
            ChangeBatch: {
              Comment: edits.every((edit) => edit.action === 'remove') ? 'certkeeper: clean up ACME DNS-01 challenges' : 'certkeeper: ACME DNS-01 challenges',
              Changes: changes,
            },
          }),
          undefined,
          { retryUntil: patience.signal, onRefused: () => this.refused() },
        );
        for (const name of names) changeIdByName.set(name, answer.ChangeInfo!.Id!);
      } catch (error) {
        const conflict = (error as Error).name === 'InvalidChangeBatch' && CONFLICT.test((error as Error).message) && round < MAX_CONFLICT_ROUNDS;
        for (const name of names) {
          if (conflict) conflicted.add(name);
          else failures.set(name, error as Error);
        }
      } finally {
        patience.dispose();
        this.answered();
      }
    }
    const again: PendingEdit[] = [];
    const failed: PendingEdit[] = [];
    for (const edit of edits) {
      const failure = failures.get(edit.name);
      if (conflicted.has(edit.name)) again.push(edit);
      else if (failure) failed.push(edit);
      else edit.resolve({ changeId: changeIdByName.get(edit.name) });
    }
    if (again.length > 0) await this.apply(again, round + 1, alone);
    const owners = [...new Set(failed.map((edit) => edit.owner))];
    if (alone || owners.length < 2) {
      for (const edit of failed) edit.reject(failures.get(edit.name)!);
      return;
    }
    // Split: each caller's values on their own, one after the other (each reads what the last one wrote).
    for (const owner of owners) {
      const own = failed.filter((edit) => edit.owner === owner);
      if (own.every((edit) => edit.signal?.aborted)) {
        for (const edit of own) edit.reject(failures.get(edit.name)!);
        continue;
      }
      await this.apply(own, 1, true);
    }
  }

  private refused(): void {
    if (this.refusing) return;
    let end!: () => void;
    const over = new Promise<void>((resolve) => (end = resolve));
    this.refusing = { over, end };
  }

  private answered(): void {
    this.refusing?.end();
    this.refusing = undefined;
  }

  /**
   * The TXT values at these names now. Reading the whole zone costs one call per 300 record sets;
   * reading names one by one costs one call each: whichever is fewer.
   */
  private async currentValues(names: string[], options: SendOptions): Promise<Map<string, CurrentTxt>> {
    const pages = Math.max(1, Math.ceil((this.zone.recordSetCount ?? Infinity) / PAGE_SIZE));
    const sets: ResourceRecordSet[] = [];
    if (names.length > pages) {
      sets.push(...(await listRecordSets(this.gateway, this.zone.id, options)));
    } else {
      for (const name of names) {
        const page = await this.gateway.send<ListResourceRecordSetsCommandOutput>(
          new ListResourceRecordSetsCommand({ HostedZoneId: this.zone.id, StartRecordName: name, StartRecordType: 'TXT', MaxItems: 1 }),
          undefined,
          options,
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

/**
 * How long a request's refusals are retried: while any of its callers still has time. A shared request
 * (several callers, not yet split) stops earlier, at SHARED_SHARE_OF_TIME of the tightest deadline's time
 * left, so the split still has time before any renewal's deadline. Callers without a signal (clean-ups)
 * give it UNSIGNALLED_RETRY_MS.
 */
function retryBudget(callers: PendingEdit[], alone: boolean): { signal: AbortSignal; dispose: () => void } {
  const stop = new AbortController();
  const timers: NodeJS.Timeout[] = [];
  const signals = callers.map((caller) => caller.signal ?? AbortSignal.timeout(UNSIGNALLED_RETRY_MS));
  const onAbort = () => {
    if (signals.every((signal) => signal.aborted)) stop.abort(new Error('no renewal waits for this change any more'));
  };
  for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
  onAbort();
  const shared = !alone && new Set(callers.map((caller) => caller.owner)).size > 1;
  const deadlines = callers.map((caller) => deadlineOf(caller.signal)).filter((at): at is number => at !== undefined);
  if (shared && deadlines.length > 0) {
    const left = Math.min(...deadlines) - Date.now();
    timers.push(setTimeout(() => stop.abort(new Error('the shared change is split')), Math.max(0, left * SHARED_SHARE_OF_TIME)));
  }
  return {
    signal: stop.signal,
    dispose: () => {
      for (const timer of timers) clearTimeout(timer);
      for (const signal of signals) signal.removeEventListener('abort', onAbort);
    },
  };
}
