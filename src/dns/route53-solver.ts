import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import type { AuditLogger } from '../telemetry/logger.js';
import { normaliseName } from './hosted-zones.js';
import { sleep } from '../util/sleep.js';

/** One DNS-01 TXT value to publish: `_acme-challenge.NAME` in a hosted zone. */
export interface TxtRecord {
  zoneId: string;
  name: string;
  value: string;
}

export interface SolverOptions {
  /** How long to wait for Route 53 to report a change INSYNC before giving up. */
  insyncTimeoutMs?: number;
  /** First GetChange poll delay; doubles up to 15 s. */
  pollIntervalMs?: number;
}

// Short TTL, as certbot and lego use: a retried challenge must not meet a cached old value for long.
const CHALLENGE_TTL = 10;

/**
 * DNS-01 on Route 53. Presents every value for one zone in a single ChangeResourceRecordSets call,
 * merging with values already there (wildcard + apex share a name; another run may be mid-flight),
 * waits for INSYNC once per change, and on clean-up removes only the values it added.
 */
export class Route53Solver {
  constructor(
    private readonly route53: Route53Client,
    private readonly options: SolverOptions = {},
  ) {}

  /** Every audit line goes to `log`, the renewal's own logger (runId, certificate). */
  async present(records: TxtRecord[], log: AuditLogger, signal?: AbortSignal): Promise<void> {
    const changes = await Promise.all(
      [...groupByZone(records)].map(async ([zoneId, zoneRecords]) => {
        const upserts: Change[] = [];
        for (const [name, values] of groupByName(zoneRecords)) {
          const existing = await this.currentValues(zoneId, name);
          const merged = [...new Set([...existing, ...values])];
          upserts.push(txtChange('UPSERT', name, merged));
        }
        const answer = await this.route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zoneId,
            ChangeBatch: { Comment: 'certkeeper: ACME DNS-01 challenge', Changes: upserts },
          }),
        );
        const changeId = answer.ChangeInfo!.Id!;
        log.info('dns.challenge.presented', {
          hostedZoneId: zoneId,
          changeId,
          records: uniqueNames(zoneRecords),
          count: zoneRecords.length,
        });
        return { zoneId, changeId };
      }),
    );
    await Promise.all(changes.map(({ zoneId, changeId }) => this.waitInsync(zoneId, changeId, log, signal)));
  }

  /** Removes exactly these values; others at the same names stay. Never throws for a record already gone. */
  async cleanup(records: TxtRecord[], log: AuditLogger): Promise<void> {
    const failures: string[] = [];
    await Promise.all(
      [...groupByZone(records)].map(async ([zoneId, zoneRecords]) => {
        try {
          const changes: Change[] = [];
          for (const [name, values] of groupByName(zoneRecords)) {
            const existing = await this.currentValues(zoneId, name);
            if (existing.length === 0) continue;
            const remaining = existing.filter((value) => !values.includes(value));
            if (remaining.length === existing.length) continue;
            changes.push(remaining.length === 0 ? txtChange('DELETE', name, existing) : txtChange('UPSERT', name, remaining));
          }
          if (changes.length === 0) return;
          const answer = await this.route53.send(
            new ChangeResourceRecordSetsCommand({
              HostedZoneId: zoneId,
              ChangeBatch: { Comment: 'certkeeper: clean up ACME DNS-01 challenge', Changes: changes },
            }),
          );
          log.info('dns.challenge.cleaned', {
            hostedZoneId: zoneId,
            changeId: answer.ChangeInfo?.Id,
            records: uniqueNames(zoneRecords),
            count: zoneRecords.length,
          });
        } catch (error) {
          failures.push(`${zoneId}: ${(error as Error).message}`);
        }
      }),
    );
    if (failures.length) throw new Error(`could not remove challenge records in ${failures.join('; ')}`);
  }

  private async currentValues(zoneId: string, name: string): Promise<string[]> {
    const answer = await this.route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'TXT', MaxItems: 1 }),
    );
    const set = answer.ResourceRecordSets?.[0];
    if (!set || set.Type !== 'TXT' || normaliseName(set.Name ?? '') !== normaliseName(name)) return [];
    return (set.ResourceRecords ?? []).map((record) => unquote(record.Value ?? ''));
  }

  private async waitInsync(zoneId: string, changeId: string, log: AuditLogger, signal?: AbortSignal): Promise<void> {
    const timeoutMs = this.options.insyncTimeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    let delay = this.options.pollIntervalMs ?? 1_000;
    for (;;) {
      const answer = await this.route53.send(new GetChangeCommand({ Id: changeId }));
      if (answer.ChangeInfo?.Status === 'INSYNC') {
        log.debug('dns.change.insync', { hostedZoneId: zoneId, changeId });
        return;
      }
      if (Date.now() + delay > deadline) {
        throw new Error(`Route 53 change ${changeId} in zone ${zoneId} was not INSYNC after ${Math.round(timeoutMs / 1000)} s`);
      }
      await sleep(delay, signal);
      delay = Math.min(delay * 2, 15_000);
    }
  }
}

function txtChange(action: 'UPSERT' | 'DELETE', name: string, values: string[]): Change {
  return {
    Action: action,
    ResourceRecordSet: { Name: name, Type: 'TXT', TTL: CHALLENGE_TTL, ResourceRecords: values.map((value) => ({ Value: `"${value}"` })) },
  };
}

/** Route 53 stores TXT values quoted, long ones split into several quoted strings. */
function unquote(value: string): string {
  const parts = value.match(/"((?:[^"\\]|\\.)*)"/g);
  if (!parts) return value;
  return parts.map((part) => part.slice(1, -1)).join('');
}

function uniqueNames(records: TxtRecord[]): string[] {
  return [...new Set(records.map((record) => record.name))];
}

function groupByZone(records: TxtRecord[]): Map<string, TxtRecord[]> {
  const groups = new Map<string, TxtRecord[]>();
  for (const record of records) groups.set(record.zoneId, [...(groups.get(record.zoneId) ?? []), record]);
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
