import { describe, expect, it } from 'vitest';
import { accountOfRole } from '../../src/dns/route53-accounts.js';
import { backoffMs } from '../../src/dns/route53-gateway.js';
import { TokenBucket } from '../../src/util/adaptive-token-bucket.js';
import { changesFor, desiredValues, splitIntoRequests, txtChange, unquote, type CurrentTxt } from '../../src/dns/txt-changes.js';

const set = (...values: string[]): CurrentTxt => ({ ttl: 10, values, raw: values.map((value) => `"${value}"`) });

describe('TXT edits merged into record sets', () => {
  it('adds to what is there, and removes only the values it names', () => {
    const current = new Map([['_acme-challenge.a.example', set('other-run')]]);
    const desired = desiredValues(current, [
      { action: 'add', name: '_acme-challenge.a.example', values: ['mine'] },
      { action: 'add', name: '_acme-challenge.b.example', values: ['apex', 'wildcard'] },
    ]);
    expect(desired.get('_acme-challenge.a.example')).toEqual(['other-run', 'mine']);
    expect(desired.get('_acme-challenge.b.example')).toEqual(['apex', 'wildcard']);
    const after = desiredValues(new Map([['_acme-challenge.a.example', set('other-run', 'mine')]]), [{ action: 'remove', name: '_acme-challenge.a.example', values: ['mine'] }]);
    expect(after.get('_acme-challenge.a.example')).toEqual(['other-run']);
  });

  it('replaces a set by deleting exactly what was read and creating the new one; nothing for unchanged names', () => {
    const current = new Map([
      ['x', set('old')],
      ['same', set('v')],
      ['gone', set('last')],
    ]);
    const desired = new Map([
      ['x', ['old', 'new']],
      ['same', ['v']],
      ['fresh', ['n']],
      ['gone', []],
    ]);
    expect(changesFor(current, desired)).toEqual([
      [{ Action: 'DELETE', ResourceRecordSet: { Name: 'x', Type: 'TXT', TTL: 10, ResourceRecords: [{ Value: '"old"' }] } }, txtChange('CREATE', 'x', ['old', 'new'])],
      [txtChange('CREATE', 'fresh', ['n'])],
      [{ Action: 'DELETE', ResourceRecordSet: { Name: 'gone', Type: 'TXT', TTL: 10, ResourceRecords: [{ Value: '"last"' }] } }],
    ]);
  });

  it('packs groups into one request within the limits, and splits only at them, never inside a group', () => {
    const value = 'v'.repeat(43); // an ACME key authorization digest is 43 characters
    const groups = Array.from({ length: 300 }, (_, index) => [txtChange('CREATE', `n${index}`, [value])]);
    expect(splitIntoRequests(groups)).toHaveLength(1);
    // 45 quoted characters per value: 32,000 characters hold 711 values.
    const many = Array.from({ length: 900 }, (_, index) => [txtChange('CREATE', `n${index}`, [value])]);
    const requests = splitIntoRequests(many);
    expect(requests.map((request) => request.length)).toEqual([711, 189]);
    const pairs = Array.from({ length: 600 }, (_, index) => [txtChange('DELETE', `n${index}`, ['a']), txtChange('CREATE', `n${index}`, ['a', 'b'])]);
    const split = splitIntoRequests(pairs);
    expect(split.every((request) => request.length % 2 === 0)).toBe(true);
    expect(split.map((request) => request.reduce((sum, change) => sum + change.ResourceRecordSet!.ResourceRecords!.length, 0))).toEqual([999, 801]);
  });

  it('reads Route 53 TXT values back: quoted, split strings joined', () => {
    expect(unquote('"abc" "def"')).toBe('abcdef');
    expect(unquote('"x"')).toBe('x');
  });
});

describe('Route 53 rate and retries', () => {
  it('the token bucket gives a burst, then one token per 1/rate seconds', async () => {
    let now = 0;
    const bucket = new TokenBucket(5, 5, () => now);
    for (let i = 0; i < 5; i++) await bucket.take();
    expect(bucket.waitMs()).toBe(200);
    now += 100;
    expect(bucket.waitMs()).toBe(100);
    now += 100;
    expect(bucket.waitMs()).toBe(0);
  });

  it('backoff grows exponentially with full jitter, capped', () => {
    expect(backoffMs(1, () => 1)).toBe(400);
    expect(backoffMs(3, () => 1)).toBe(1_600);
    expect(backoffMs(10, () => 1)).toBe(10_000);
    expect(backoffMs(4, () => 0)).toBe(50);
  });

  it('keys rate buckets by the account of a role ARN', () => {
    expect(accountOfRole('arn:aws:iam::222222222222:role/dns')).toBe('222222222222');
  });
});
