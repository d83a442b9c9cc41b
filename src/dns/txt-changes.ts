import type { Change } from '@aws-sdk/client-route-53';

/** One caller's wish for one name: add its values, or remove exactly those it added. */
export interface TxtEdit {
  action: 'add' | 'remove';
  name: string;
  values: string[];
}

// Short TTL, as certbot and lego use: a retried challenge must not meet a cached old value for long.
export const CHALLENGE_TTL = 10;

/** ChangeResourceRecordSets limits per request (Route 53 quotas); an UPSERT counts twice in both. */
export const CHANGE_LIMITS = { resourceRecords: 1000, valueCharacters: 32_000 };

/**
 * The TXT record set each name should end up with: what is there now, with the edits applied in
 * order. Values another run put there stay; a remove takes away only the values it names.
 */
export function desiredValues(current: Map<string, string[]>, edits: TxtEdit[]): Map<string, string[]> {
  const desired = new Map<string, string[]>();
  for (const edit of edits) {
    const values = desired.get(edit.name) ?? current.get(edit.name) ?? [];
    desired.set(
      edit.name,
      edit.action === 'add' ? [...new Set([...values, ...edit.values])] : values.filter((value) => !edit.values.includes(value)),
    );
  }
  return desired;
}

/** The Route 53 changes that turn `current` into `desired`: nothing for names that stay as they are. */
export function changesFor(current: Map<string, string[]>, desired: Map<string, string[]>): Change[] {
  const changes: Change[] = [];
  for (const [name, values] of desired) {
    const before = current.get(name) ?? [];
    if (sameSet(before, values)) continue;
    changes.push(values.length === 0 ? txtChange('DELETE', name, before) : txtChange('UPSERT', name, values));
  }
  return changes;
}

/** Splits changes into as few requests as Route 53 accepts (a record set is never split across two). */
export function splitIntoRequests(changes: Change[], limits = CHANGE_LIMITS): Change[][] {
  const requests: Change[][] = [];
  let current: Change[] = [];
  let records = 0;
  let characters = 0;
  for (const change of changes) {
    const weight = change.Action === 'UPSERT' ? 2 : 1;
    const values = change.ResourceRecordSet?.ResourceRecords ?? [];
    const changeRecords = weight * values.length;
    const changeCharacters = weight * values.reduce((sum, record) => sum + (record.Value?.length ?? 0), 0);
    if (changeRecords > limits.resourceRecords || changeCharacters > limits.valueCharacters) {
      throw new Error(`the TXT record set ${change.ResourceRecordSet?.Name} alone exceeds Route 53's limits per request (${values.length} values)`);
    }
    if (current.length > 0 && (records + changeRecords > limits.resourceRecords || characters + changeCharacters > limits.valueCharacters)) {
      requests.push(current);
      current = [];
      records = 0;
      characters = 0;
    }
    current.push(change);
    records += changeRecords;
    characters += changeCharacters;
  }
  if (current.length > 0) requests.push(current);
  return requests;
}

export function txtChange(action: 'UPSERT' | 'DELETE', name: string, values: string[]): Change {
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
