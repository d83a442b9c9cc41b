import type { Change } from '@aws-sdk/client-route-53';

/** One caller's wish for one name: add its values, or remove exactly those it added. */
export interface TxtEdit {
  action: 'add' | 'remove';
  name: string;
  values: string[];
}

// Short TTL, as certbot and lego use: a retried challenge must not meet a cached old value for long.
export const CHALLENGE_TTL = 10;

/** ChangeResourceRecordSets limits per request (Route 53 quotas): ResourceRecord elements and characters of values; an UPSERT counts twice, a DELETE + CREATE pair counts both. */
export const CHANGE_LIMITS = { resourceRecords: 1000, valueCharacters: 32_000 };

/** A TXT record set as Route 53 holds it now. */
export interface CurrentTxt {
  ttl: number;
  /** Unquoted, for comparing with challenge values. */
  values: string[];
  /** As stored (quoted), for a DELETE that must match exactly. */
  raw: string[];
}

/**
 * The TXT values each name should end up with: what is there now, with the edits applied in order.
 * Values another run put there stay; a remove takes away only the values it names.
 */
export function desiredValues(current: Map<string, CurrentTxt>, edits: TxtEdit[]): Map<string, string[]> {
  const desired = new Map<string, string[]>();
  for (const edit of edits) {
    const values = desired.get(edit.name) ?? current.get(edit.name)?.values ?? [];
    desired.set(edit.name, edit.action === 'add' ? [...new Set([...values, ...edit.values])] : values.filter((value) => !edit.values.includes(value)));
  }
  return desired;
}

/**
 * The changes, one group per name, that turn `current` into `desired`: nothing for names that stay as
 * they are. Not UPSERT but DELETE of exactly what was read + CREATE: Route 53 applies a request
 * atomically and refuses it if the set changed since it was read (another certkeeper process adding
 * its value to the same name), so a concurrent writer is never overwritten; the caller reads again.
 */
export function changesFor(current: Map<string, CurrentTxt>, desired: Map<string, string[]>): Change[][] {
  const groups: Change[][] = [];
  for (const [name, values] of desired) {
    const before = current.get(name);
    if (sameSet(before?.values ?? [], values)) continue;
    const group: Change[] = [];
    if (before) group.push({ Action: 'DELETE', ResourceRecordSet: { Name: name, Type: 'TXT', TTL: before.ttl, ResourceRecords: before.raw.map((Value) => ({ Value })) } });
    if (values.length > 0) group.push(txtChange('CREATE', name, values));
    groups.push(group);
  }
  return groups;
}

/** Packs the groups into as few requests as Route 53 accepts (a group is never split across two). */
export function splitIntoRequests(groups: Change[][], limits = CHANGE_LIMITS): Change[][] {
  const requests: Change[][] = [];
  let current: Change[] = [];
  let records = 0;
  let characters = 0;
  for (const group of groups) {
    let groupRecords = 0;
    let groupCharacters = 0;
    for (const change of group) {
      const weight = change.Action === 'UPSERT' ? 2 : 1;
      const values = change.ResourceRecordSet?.ResourceRecords ?? [];
      groupRecords += weight * values.length;
      groupCharacters += weight * values.reduce((sum, record) => sum + (record.Value?.length ?? 0), 0);
    }
    if (groupRecords > limits.resourceRecords || groupCharacters > limits.valueCharacters) {
      throw new Error(`the TXT record set ${group[0]?.ResourceRecordSet?.Name} alone exceeds Route 53's limits per request`);
    }
    if (current.length > 0 && (records + groupRecords > limits.resourceRecords || characters + groupCharacters > limits.valueCharacters)) {
      requests.push(current);
      current = [];
      records = 0;
      characters = 0;
    }
    current.push(...group);
    records += groupRecords;
    characters += groupCharacters;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export function txtChange(action: 'CREATE' | 'UPSERT' | 'DELETE', name: string, values: string[]): Change {
  return {
    Action: action,
    ResourceRecordSet: { Name: name, Type: 'TXT', TTL: CHALLENGE_TTL, ResourceRecords: values.map((value) => ({ Value: `"${value}"` })) },
  };
}

/** Route 53 stores TXT values quoted, long ones split into several quoted strings. */
export function unquote(value: string): string {
  const parts = value.match(/"((?:[^"\\]|\\.)*)"/g);
  if (!parts) return value;
  return parts.map((part) => part.slice(1, -1)).join('');
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((value) => b.includes(value));
}
