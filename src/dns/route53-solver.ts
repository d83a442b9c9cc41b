import { GetChangeCommand, type GetChangeCommandOutput } from '@aws-sdk/client-route-53';
import type { AuditLogger } from '../telemetry/logger.js';
import { sleep } from '../util/sleep.js';
import type { HostedZone } from './hosted-zones.js';
import { normaliseName, roleOf } from './hosted-zones.js';
import type { PropagationCheck } from './propagation-check.js';
import type { Route53Accounts } from './route53-accounts.js';
import { PresentRendezvous, type GatherLimits } from './present-rendezvous.js';
import { ZoneChangeBatcher, type EditCaller, type SentChange } from './zone-change-batcher.js';

/** One DNS-01 TXT value to publish: `_acme-challenge.NAME` (or its CNAME target) in a hosted zone. */
export interface TxtRecord {
  zoneId: string;
  name: string;
  value: string;
  /** For messages and the propagation check. */
  zoneName?: string;
  /** The role the zone's account needs (kept in the crash journal, so clean-up reaches it too). */
  roleArn?: string;
  externalId?: string;
  /** The zone's size as last listed: the batcher reads whole zones when that is cheaper than name by name. */
  zoneRecordSetCount?: number;
}

export interface SolverOptions {
  /** How long a change may stay PENDING (route53.insyncTimeoutSeconds). */
  insyncTimeoutMs?: number;
  /** First GetChange poll delay; doubles up to 15 s. */
  pollIntervalMs?: number;
  /** How long the batcher collects edits before sending them. */
  batchWindowMs?: number;
  /**
   * How long a batch waits for the renewals still on the way: presented values for those still ordering,
   * removals for those still validating (default: until 10 s without progress, 3 minutes at most).
   */
  gather?: GatherLimits;
  /** After INSYNC, ask the authoritative nameservers (route53.propagation.check). */
  propagation?: PropagationCheck;
}

/** One renewal's presentation: its signal, its part in the gathering, its pass, its urgency. */
export interface PresentOptions {
  /** Aborts waiting; the values are removed either way (by the caller's clean-up). */
  signal?: AbortSignal;
  /** Called once the edits are queued (from `expectPresent`): the batchers need not wait for it any more. */
  arrived?: () => void;
  /** The pass: the propagation check says once per pass and zone what it could not verify. */
  runId?: string;
  /** When the certificate served now expires: a batch holding these values waits for others only a share of the time left (zone-change-batcher.ts). */
  servedUntil?: Date;
}

/**
 * DNS-01 on Route 53 for every renewal of the process. Each caller presents its own values; the
 * per-zone batchers merge what concurrent renewals present into one change per zone, and every caller
 * of that change awaits the same INSYNC poll. Clean-up removes only the values its caller added.
 */
export class Route53Solver {
  private readonly batchers = new Map<string, ZoneChangeBatcher>();
  /** INSYNC polls in progress, by change ID: shared by the renewals waiting on that change. */
  private readonly insync = new Map<string, { done: Promise<void>; waiters: number; stop: AbortController }>();
  /** Renewals that may still present values. */
  private readonly presenting = new PresentRendezvous();
  /** Per zone: values that are up and whose removal has not been asked for yet (by name and value). */
  private readonly removing = new Map<string, PresentRendezvous>();
  private readonly removalDue = new Map<string, (() => void)[]>();

  constructor(
    private readonly accounts: Route53Accounts,
    private readonly options: SolverOptions = {},
  ) {}

  /**
   * A renewal that may present values soon (see present-rendezvous.ts): the batchers wait for it.
   * Call the returned function when it has presented, or will not; `present()` calls it too.
   */
  expectPresent(): () => void {
    return this.presenting.expect();
  }

  /** Every audit line goes to `log`, the renewal's own logger (runId, certificate). */
  async present(records: TxtRecord[], log: AuditLogger, { signal, arrived, runId, servedUntil }: PresentOptions = {}): Promise<void> {
    // One caller for all its zones' edits: a shared change that fails is split by caller (zone-change-batcher.ts).
    const caller: EditCaller = { owner: {}, signal, ...(servedUntil && { servedUntil: servedUntil.getTime() }) };
    const queued = [...groupByZone(records)].map(async ([, zoneRecords]) => {
      const batcher = this.batcherFor(zoneRecords[0]!);
      const sent = await this.editAll(batcher, 'add', zoneRecords, caller);
      // Up now: the zone's clean-ups wait for this renewal's as well (one clean-up change per zone). A
      // renewal cancelled meanwhile has already asked for (or is asking for) its removal: expecting it
      // now would hold every later clean-up of the zone until the gathering gives up.
      if (!signal?.aborted) for (const record of zoneRecords) this.expectRemoval(record);
      const changeIds = changeIdsOf(sent);
      log.info('dns.challenge.presented', {
        hostedZoneId: batcher.zone.id,
        zone: batcher.zone.name,
        changeIds,
        records: uniqueNames(zoneRecords),
        count: zoneRecords.length,
      });
      return { batcher, zoneRecords, changeIds };
    });
    // The edits are queued (synchronously, above): the batchers need not wait for this renewal any more.
    arrived?.();
    // A cancelled renewal stops waiting for the batch (up to 3 minutes of gathering): its clean-up is queued
    // behind the add in the same batcher, so the values end up removed either way.
    const zones = await untilAborted(Promise.all(queued), signal);
    await Promise.all(zones.flatMap(({ batcher, changeIds }) => changeIds.map((changeId) => this.waitInsync(batcher, changeId, log, signal))));
    const propagation = this.options.propagation;
    if (propagation) {
      await Promise.all(
        zones.flatMap(({ batcher, zoneRecords }) => [...groupByName(zoneRecords)].map(([name, values]) => propagation.waitFor(batcher.zone, name, values, { signal, log, runId }))),
      );
      log.debug('dns.challenge.propagated', { records: uniqueNames(records) });
    }
  }

  /** Removes exactly these values; others at the same names stay. Never throws for a record already gone. */
  async cleanup(records: TxtRecord[], log: AuditLogger): Promise<void> {
    const failures: string[] = [];
    const caller = { owner: {} };
    await Promise.all(
      [...groupByZone(records)].map(async ([, zoneRecords]) => {
        const zoneId = zoneRecords[0]!.zoneId;
        try {
          const batcher = this.batcherFor(zoneRecords[0]!);
          const edits = this.editAll(batcher, 'remove', zoneRecords, caller);
          for (const record of zoneRecords) this.removalAsked(record);
          const sent = await edits;
          const changeIds = changeIdsOf(sent);
          if (changeIds.length === 0) return;
          log.info('dns.challenge.cleaned', { hostedZoneId: zoneId, zone: batcher.zone.name, changeIds, records: uniqueNames(zoneRecords), count: zoneRecords.length });
        } catch (error) {
          failures.push(`${zoneId}: ${(error as Error).message}`);
        }
      }),
    );
    if (failures.length) throw new Error(`could not remove challenge records in ${failures.join('; ')}`);
  }

  private expectRemoval(record: TxtRecord): void {
    const key = valueKey(record);
    this.removalDue.set(key, [...(this.removalDue.get(key) ?? []), this.removingIn(zoneKey(record)).expect()]);
  }

  private removingIn(zone: string): PresentRendezvous {
    let rendezvous = this.removing.get(zone);
    if (!rendezvous) this.removing.set(zone, (rendezvous = new PresentRendezvous()));
    return rendezvous;
  }

  /** A value's removal is queued (or the value was never presented by this process: orphans). */
  private removalAsked(record: TxtRecord): void {
    const key = valueKey(record);
    const due = this.removalDue.get(key);
    due?.shift()?.();
    if (due?.length === 0) this.removalDue.delete(key);
  }

  private editAll(batcher: ZoneChangeBatcher, action: 'add' | 'remove', records: TxtRecord[], caller: EditCaller): Promise<SentChange[]> {
    return Promise.all([...groupByName(records)].map(([name, values]) => batcher.edit(action, name, values, caller)));
  }

  /**
   * Resolves once Route 53 is not refusing a change in any of these zones (Throttling,
   * PriorRequestNotComplete being retried): called before an order is created, so an order is not spent
   * while its zone's change is being refused. The zones are already found and read by then (zone lookup).
   */
  async untilZonesAccept(zones: HostedZone[], signal?: AbortSignal): Promise<void> {
    const keys = new Set(zones.map((zone) => `${zone.role?.roleArn ?? ''}|${zone.id}`));
    const batchers = [...keys].map((key) => this.batchers.get(key)).filter((batcher) => batcher !== undefined);
    await Promise.all(batchers.map((batcher) => batcher.accepting(signal)));
  }

  private batcherFor(record: TxtRecord): ZoneChangeBatcher {
    const role = roleOf(record);
    const key = zoneKey(record);
    let batcher = this.batchers.get(key);
    if (!batcher) {
      const zone: HostedZone = { id: record.zoneId, name: record.zoneName ?? record.zoneId, role };
      const gather = this.options.gather ?? { idleMs: 10_000, maxMs: 180_000 };
      batcher = new ZoneChangeBatcher(this.accounts.gateway(role), zone, {
        windowMs: this.options.batchWindowMs,
        gatherAdds: () => this.presenting.gathered(gather),
        gatherRemovals: () => this.removingIn(key).gathered(gather),
      });
      this.batchers.set(key, batcher);
    }
    if (record.zoneRecordSetCount !== undefined) batcher.zone.recordSetCount = record.zoneRecordSetCount;
    return batcher;
  }

  /**
   * One poll per change, however many renewals wait on it; exponential backoff up to the timeout. A
   * renewal that is cancelled (or loses its lease) stops waiting alone; the poll stops when nobody waits.
   */
  private async waitInsync(batcher: ZoneChangeBatcher, changeId: string, log: AuditLogger, signal?: AbortSignal): Promise<void> {
    let poll = this.insync.get(changeId);
    if (!poll) {
      const stop = new AbortController();
      const done = this.pollChange(batcher, changeId, log, stop.signal).finally(() => this.insync.delete(changeId));
      done.catch(() => {}); // each waiter sees the failure through its own await
      poll = { done, waiters: 0, stop };
      this.insync.set(changeId, poll);
    }
    poll.waiters++;
    try {
      await untilAborted(poll.done, signal);
    } finally {
      if (--poll.waiters === 0) poll.stop.abort(new Error('no renewal waits for this change any more'));
    }
  }

  private async pollChange(batcher: ZoneChangeBatcher, changeId: string, log: AuditLogger, signal?: AbortSignal): Promise<void> {
    const timeoutMs = this.options.insyncTimeoutMs ?? 300_000;
    const started = Date.now();
    const deadline = started + timeoutMs;
    let delay = this.options.pollIntervalMs ?? 1_000;
    const gateway = this.accounts.gateway(batcher.zone.role);
    const timedOut = (what: string) =>
      new Error(
        `Route 53 change ${changeId} in hosted zone ${batcher.zone.id} (${batcher.zone.name}) ${what} after ${Math.round(timeoutMs / 1000)} s (route53.insyncTimeoutSeconds)`,
      );
    let status: string | undefined;
    for (let polls = 1; ; polls++) {
      // A GetChange that hangs (retried by the gateway) must not outlast the INSYNC timeout by much either;
      // the poll at the deadline still gets a few seconds to answer.
      const expiry = AbortSignal.timeout(Math.max(LAST_POLL_MS, deadline - Date.now()));
      let answer: GetChangeCommandOutput;
      try {
        const until = signal ? AbortSignal.any([signal, expiry]) : expiry;
        // Refusals (the account's budget shared with other tools) are retried until the INSYNC deadline, not a count.
        answer = await gateway.send<GetChangeCommandOutput>(new GetChangeCommand({ Id: changeId }), until, { retryUntil: until });
      } catch (error) {
        if (expiry.aborted && !signal?.aborted) throw timedOut(`was ${status ? `still ${status}` : 'not reported INSYNC'} (GetChange got no answer)`);
        throw error;
      }
      status = answer.ChangeInfo?.Status;
      if (answer.ChangeInfo?.Status === 'INSYNC') {
        log.debug('dns.change.insync', { hostedZoneId: batcher.zone.id, changeId, polls, waitedMs: Date.now() - started });
        return;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timedOut(`was still ${answer.ChangeInfo?.Status ?? 'not INSYNC'}`);
      await sleep(Math.min(delay, left), signal);
      delay = Math.min(delay * 2, 15_000);
    }
  }
}

// How long the GetChange sent at (or after) the INSYNC deadline may take to answer.
const LAST_POLL_MS = 5_000;

/** `work`, or its rejection with the signal's reason as soon as the signal aborts. */
export function untilAborted<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  signal.throwIfAborted();
  let onAbort!: () => void;
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([work, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}

/** The distinct changes that carried these edits (none when the zone already looked as asked). */
function changeIdsOf(sent: SentChange[]): string[] {
  return [...new Set(sent.flatMap((entry) => (entry.changeId ? [entry.changeId] : [])))];
}

/** A hosted zone as reached: the same zone ID through another role is another account's zone. */
function zoneKey(record: TxtRecord): string {
  return `${record.roleArn ?? ''}|${record.zoneId}`;
}

function valueKey(record: TxtRecord): string {
  return `${zoneKey(record)}|${normaliseName(record.name)}|${record.value}`;
}

function uniqueNames(records: TxtRecord[]): string[] {
  return [...new Set(records.map((record) => normaliseName(record.name)))];
}

function groupByZone(records: TxtRecord[]): Map<string, TxtRecord[]> {
  const groups = new Map<string, TxtRecord[]>();
  for (const record of records) {
    const key = zoneKey(record);
    groups.set(key, [...(groups.get(key) ?? []), record]);
  }
  return groups;
}

function groupByName(records: TxtRecord[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const record of records) {
    const name = normaliseName(record.name);
    groups.set(name, [...new Set([...(groups.get(name) ?? []), record.value])]);
  }
  return groups;
}
