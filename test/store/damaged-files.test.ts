import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ChallengeJournal } from '../../src/dns/challenge-journal.js';
import { CertificateFactsCache } from '../../src/store/certificate-facts-cache.js';
import { FileStateStore } from '../../src/store/file-state-store.js';
import { FileStore } from '../../src/store/file-store.js';
import { IssuedCertificates } from '../../src/store/issued-certificates.js';
import { readCertificate } from '../../src/pki/certificate.js';
import { selfSignedCertificate } from '../stack/tls.js';
import { RateLimitRecords } from '../../src/store/rate-limit-records.js';
import { notificationFor } from '../../src/telemetry/notifications.js';
import { recordingLogger, type RecordedEvent } from './recording-logger.js';

/**
 * One damaged state file never stops the fleet: every kind of file the file store reads, written by the
 * real code first, then truncated, emptied, overwritten with garbage, given the wrong shape, or replaced
 * by a directory (unreadable). Each time: the read gives absent, the file is moved aside (kept, 0600),
 * `store.file.corrupt` is logged once, and the next write works.
 */

const root = mkdtempSync(join(tmpdir(), 'certkeeper-damaged-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0f4e';
const ACCOUNT = 'accounts/0123456789abcdef.json';

interface Kind {
  name: string;
  /** The file, relative to stateDir. */
  file: string;
  /** Writes a valid document the way certkeeper does. */
  write(store: FileStateStore): Promise<void>;
  /** Reads it the way certkeeper does: undefined when absent. */
  read(store: FileStateStore): Promise<unknown>;
  /** Valid JSON, wrong shape for this kind. */
  wrongShape: string;
}

const KINDS: Kind[] = [
  {
    name: 'certificate record',
    file: 'certificates/wild1.json',
    write: async (store) =>
      void (await store.update('cert#wild1', () => ({
        acm: { 'us-east-1': ARN },
        lastSuccess: { at: '2026-01-01T00:00:00.000Z', serial: 'ab', notAfter: '2026-04-01T00:00:00.000Z' },
        consecutiveFailures: 0,
      }))),
    read: (store) => store.get('cert#wild1'),
    wrongShape: '{ "consecutiveFailures": "three", "acm": ["us-east-1"] }',
  },
  {
    name: 'rate-limit ledger',
    file: 'ratelimits/HASH.json',
    write: (store) => ledger(store).update((entry) => void entry.orders.push(new Date().toISOString())),
    read: (store) => store.get(`ratelimits#${ledgerHash(store)}`),
    wrongShape: '{ "orders": "many" }',
  },
  {
    name: 'lock',
    file: 'locks/web.lock',
    write: async (store) => {
      // A lock left by a process that was killed: valid, then damaged.
      store.files.write('locks/web.lock', {
        holder: { ...store.holder, id: 'killed' },
        pid: store.holder.pid,
        since: new Date().toISOString(),
        heartbeatAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 120_000).toISOString(),
      });
    },
    read: (store) => store.readLease('web'),
    wrongShape: '{ "since": 12, "holder": "me" }',
  },
  {
    name: 'notices/emergency.json',
    file: 'notices/emergency.json',
    write: async (store) => void (await store.update('notices#emergency', () => ({ wild1: '0a1b' }))),
    read: (store) => store.get('notices#emergency'),
    wrongShape: '["wild1", "0a1b"]',
  },
  {
    name: 'account file',
    file: ACCOUNT,
    // As src/acme/account.ts keeps it: its own FileStore on stateDir.
    write: async (store) =>
      new FileStore(store.files.dir).write(ACCOUNT, {
        directoryUrl: 'https://ca.test/dir',
        email: 'ops@example.com',
        accountKey: 'PEM',
        createdAt: '2026-01-01T00:00:00.000Z',
        accountUrl: 'https://ca.test/acct/1',
      }),
    read: async (store) => new FileStore(store.files.dir).read(ACCOUNT),
    wrongShape: '{ "directoryUrl": 42, "createdAt": "2026-01-01T00:00:00.000Z" }',
  },
  {
    name: 'challenge journal entry',
    file: 'challenges/00000000-0000-4000-8000-000000000001-wild1.json',
    write: async (store) =>
      void (await new ChallengeJournal(store).note('00000000-0000-4000-8000-000000000001', 'wild1', [{ zoneId: 'Z1', name: '_acme-challenge.wild1.test', value: '"abc"' }])),
    read: async (store) => (await store.list('journal#')).map((entry) => entry.value)[0],
    wrongShape: '{ "pid": 1, "runId": "r", "certificate": "wild1", "records": [{ "name": 5 }], "at": "x" }',
  },
  {
    name: 'acm-facts',
    file: 'acm-facts/HASH.json',
    write: (store) =>
      facts(store).set(ARN, 'fp', {
        serial: 'ab',
        notBefore: new Date(0),
        notAfter: new Date(1e12),
        domains: ['wild1.test'],
        keyType: 'ecdsa-p256',
        issuer: 'CA',
        usages: { keyUsage: [], extendedKeyUsage: [] },
      } as never),
    read: (store) => facts(store).get(ARN, 'fp'),
    wrongShape: '{ "certificateArn": "x", "fingerprint": "fp" }',
  },
  {
    name: 'kept issued certificate',
    file: 'issued/wild1.json',
    write: async (store) => {
      const { certificatePem, privateKeyPem } = await selfSignedCertificate('wild1.test');
      const issued = { leafPem: certificatePem, chainPem: '', privateKeyPem, facts: readCertificate(certificatePem), orderUrl: 'https://ca.test/order/1' };
      await new IssuedCertificates(store.files.dir).keep('wild1', issued, { directoryUrl: 'https://ca.test/dir', runId: 'r' });
    },
    read: async (store) => new IssuedCertificates(store.files.dir).read('wild1'),
    wrongShape: '{ "certificate": "wild1", "leafPem": 5, "keptAt": "2026-01-01T00:00:00.000Z" }',
  },
];

const DAMAGES: { name: string; damage: (path: string) => void }[] = [
  {
    name: 'truncated',
    damage: (path) => {
      const text = readFileSync(path, 'utf8');
      writeFileSync(path, text.slice(0, Math.floor(text.length / 2)));
    },
  },
  { name: 'emptied', damage: (path) => writeFileSync(path, '') },
  { name: 'garbage', damage: (path) => writeFileSync(path, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x7b, 0x0a, 0xde, 0xad])) },
  { name: 'wrong shape', damage: () => undefined },
  {
    name: 'unreadable (a directory in its place)',
    damage: (path) => {
      rmSync(path);
      mkdirSync(path);
      writeFileSync(join(path, 'inside'), 'x');
    },
  },
];

let sequence = 0;

describe.each(KINDS)('a damaged $name', (kind) => {
  it.each(DAMAGES)('$name: read as absent, moved aside (kept, 0600), logged once, written again', async ({ name, damage }) => {
    const dir = join(root, `case-${++sequence}`);
    const log = recordingLogger();
    const store = new FileStateStore(dir, { log });
    await kind.write(store);
    const file = join(dir, resolveFile(store, kind));
    expect(await kind.read(store), 'the valid document reads').toBeDefined();
    expect(log.events).toEqual([]);

    if (name === 'wrong shape') writeFileSync(file, kind.wrongShape);
    else damage(file);

    expect(await kind.read(store)).toBeUndefined();
    const corrupt = eventsNamed(log.events, 'store.file.corrupt');
    expect(corrupt).toEqual([
      { level: 'error', event: 'store.file.corrupt', store: 'file', file, movedTo: expect.stringMatching(/\.corrupt-\d{8}T\d{6}\.\d{3}Z$/), error: expect.any(String) },
    ]);
    const movedTo = corrupt[0]!.movedTo as string;
    expect(movedTo.startsWith(`${file}.corrupt-`)).toBe(true);
    expect(statSync(file, { throwIfNoEntry: false })).toBeUndefined();
    if (name.startsWith('unreadable')) {
      expect(statSync(movedTo).isDirectory()).toBe(true);
      expect(corrupt[0]!.error).toMatch(/cannot be read \(EISDIR\)/);
    } else {
      expect((statSync(movedTo).mode & 0o777).toString(8)).toBe('600');
    }
    if (name === 'wrong shape') expect(corrupt[0]!.error).toMatch(/^wrong shape for /);

    // Read again: absent, and no second report; then certkeeper writes it anew.
    expect(await kind.read(store)).toBeUndefined();
    expect(eventsNamed(log.events, 'store.file.corrupt')).toHaveLength(1);
    await kind.write(store);
    expect(await kind.read(store)).toBeDefined();
  });
});

describe('what a damaged file reports', () => {
  it('never quotes the file (it may hold a key), and becomes a notification', async () => {
    const dir = join(root, 'quote');
    const log = recordingLogger();
    new FileStateStore(dir, { log }); // opened for its side effect: damaged files under dir are reported to log
    mkdirSync(join(dir, 'accounts'), { recursive: true });
    const secret = '-----BEGIN PRIVATE KEY----- MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg';
    writeFileSync(join(dir, ACCOUNT), secret);
    expect(new FileStore(dir).read(ACCOUNT)).toBeUndefined();
    const [event] = eventsNamed(log.events, 'store.file.corrupt');
    expect(JSON.stringify(event)).not.toContain('MIGHAgEA');
    expect(JSON.stringify(event)).not.toContain('BEGIN');
    expect(event!.error).toMatch(/^not valid JSON/);
    const { event: name, level, ...fields } = event!;
    expect(notificationFor({ event: name, level, fields }, false)).toMatchObject({
      event: 'store.file.corrupt',
      severity: 'warning',
      text: `certkeeper: damaged state ${join(dir, ACCOUNT)} (${String(event!.error)}); moved aside to ${String(event!.movedTo)} and rebuilt from AWS and the CA`,
    });
    expect(readdirSync(join(dir, 'accounts'))).toEqual([expect.stringMatching(/^0123456789abcdef\.json\.corrupt-/)]);
  });

  it('a damaged lock is moved aside and the lease taken', async () => {
    const dir = join(root, 'lock-take');
    const log = recordingLogger();
    const store = new FileStateStore(dir, { log });
    mkdirSync(join(dir, 'locks'), { recursive: true });
    writeFileSync(join(dir, 'locks', 'web.lock'), '');
    const lease = await store.tryLease('web', log);
    expect(lease).toBeDefined();
    expect(eventsNamed(log.events, 'store.file.corrupt')).toHaveLength(1);
    await lease!.release();
  });
});

function eventsNamed(events: RecordedEvent[], name: string): RecordedEvent[] {
  return events.filter((event) => event.event === name);
}

function ledger(store: FileStateStore): RateLimitRecords {
  return new RateLimitRecords(store, 'https://ca.test/dir');
}

/** The ledger's file name: the hash RateLimitRecords keys it by. */
function ledgerHash(store: FileStateStore): string {
  return readdirSync(join(store.files.dir, 'ratelimits'))[0]!.replace(/\.json$/, '');
}

function facts(store: FileStateStore): CertificateFactsCache {
  return new CertificateFactsCache(store);
}

/** Files named by a hash are found once written. */
function resolveFile(store: FileStateStore, kind: Kind): string {
  if (!kind.file.includes('HASH')) return kind.file;
  const folder = kind.file.split('/')[0]!;
  return `${folder}/${readdirSync(join(store.files.dir, folder)).find((file) => file.endsWith('.json'))!}`;
}
