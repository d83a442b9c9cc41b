import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImportCertificateCommand } from '@aws-sdk/client-acm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../stack/tls.js';
import { CERTKEEPER_BIN, WatchedCli } from '../e2e/cli.js';
import { startReliabilityStack, writeConfig, type ReliabilityStack } from './harness.js';
import { eventsNamed, keepOutput, rememberSecret, runCli, type CliResult } from './output-log.js';

/**
 * One bad file never stops the fleet (issue 12, item 7). The real `certkeeper renew` meets its own state
 * files damaged as a crash, a power loss or a person leaves them: a truncated certificate record (the
 * reproduction: it aborted the whole pass), a record that cannot be read or moved, a garbage rate-limit
 * ledger, an empty lock, a garbage notices/emergency.json beside a certificate in its emergency period, and
 * a truncated ACME account file. Each time the other certificates renew, the pass finishes, and the damaged
 * file is moved aside and rebuilt.
 */

const ZONE = 'damaged.example';
let rel: ReliabilityStack;
let stateDir: string;

beforeAll(async () => {
  rel = await startReliabilityStack();
  await rel.aws.createHostedZone(ZONE);
  stateDir = join(rel.workDir, 'state');
});

afterAll(async () => {
  await rel?.stop();
});

function config(file: string, certificates: { name: string; certificateArn?: string }[]): string {
  return writeConfig(rel, file, {
    stateDir,
    certificates: certificates.map(({ name, certificateArn }) => ({
      name,
      domains: [`${name}.${ZONE}`],
      acm: [{ region: 'us-east-1', ...(certificateArn && { certificateArn }) }],
    })),
  });
}

/** The one `store.file.corrupt` of the run: the file it names was moved aside (kept) and is gone from its place. */
function expectMovedAside(run: CliResult, file: string | RegExp): string {
  const corrupt = eventsNamed(run.events, 'store.file.corrupt');
  expect(corrupt, run.stderr).toEqual([
    expect.objectContaining({ level: 'error', store: 'file', file, movedTo: expect.stringMatching(/\.corrupt-\d{8}T\d{6}\.\d{3}Z$/), error: expect.any(String) }),
  ]);
  const movedTo = corrupt[0]!.movedTo as string;
  expect(existsSync(movedTo), 'kept for inspection').toBe(true);
  return movedTo;
}

function expectRenewed(run: CliResult, name: string): void {
  expect(run.code, run.stderr).toBe(0);
  expect(eventsNamed(run.events, 'renewal.succeeded', name)).toHaveLength(1);
  expect(eventsNamed(run.events, 'pass.finished')).toHaveLength(1);
}

describe('a damaged file is confined to what it concerns', () => {
  it('a truncated certificate record: a due certificate of another name renews in the same pass, the damaged one is assessed as usual', async () => {
    const first = await runCli(['renew', '--config', config('wild1.config.mjs', [{ name: 'wild1' }])], rel.env);
    expectRenewed(first, 'wild1');
    const record = join(stateDir, 'certificates', 'wild1.json');
    const text = readFileSync(record, 'utf8');
    writeFileSync(record, text.slice(0, Math.floor(text.length / 2)));

    const fleet = await runCli(['renew', '--config', config('fleet.config.mjs', [{ name: 'wild1' }, { name: 'web2' }])], rel.env);
    expectRenewed(fleet, 'web2');
    expectMovedAside(fleet, record);
    // Its deployed certificate is found again by its tags: up to date, nothing to do.
    expect(eventsNamed(fleet.events, 'renewal.decided', 'wild1')[0]).toMatchObject({ action: 'none', checks: expect.arrayContaining(['UpToDate']) });
    expect(eventsNamed(fleet.events, 'renewal.failed')).toEqual([]);
    expect(eventsNamed(fleet.events, 'pass.finished')[0]).toMatchObject({ renewed: 1, unchanged: 1, failed: 0 });
  });

  it('a record that can be neither read nor moved aside fails only its certificate; the next pass moves it aside and renews', async () => {
    const path = config('stuck.config.mjs', [{ name: 'stuck' }, { name: 'mover' }]);
    const record = join(stateDir, 'certificates', 'stuck.json');
    mkdirSync(record, { recursive: true });
    // A mount point where the record belongs (in a mount namespace of its own): EISDIR to read, EBUSY to rename.
    const child = spawn(
      'unshare',
      ['--mount', 'sh', '-c', 'mount -t tmpfs certkeeper-test "$0" && exec "$@"', record, process.execPath, CERTKEEPER_BIN, 'renew', '--config', path],
      {
        env: { ...process.env, ...rel.env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const run = await new WatchedCli(child).done;
    keepOutput('renew with an unmovable record', run.stderr);
    expect(run.code, run.stderr).toBe(1);
    expect(eventsNamed(run.events, 'renewal.succeeded', 'mover')).toHaveLength(1);
    const [failed] = eventsNamed(run.events, 'renewal.failed', 'stuck');
    expect(failed!.error).toContain(`cannot read ${record}`);
    expect(failed!.recordError).toContain("the certificate's record could not be updated");
    expect(eventsNamed(run.events, 'pass.finished')[0]).toMatchObject({ renewed: 1, failed: 1 });

    // Outside that namespace it is an ordinary directory in the way: moved aside, and the certificate renews.
    const next = await runCli(['renew', 'stuck', '--config', path], rel.env);
    expectRenewed(next, 'stuck');
    expect(eventsNamed(next.events, 'store.file.corrupt')[0]!.error).toMatch(/cannot be read \(EISDIR\)/);
    expectMovedAside(next, record);
  });
});

describe('a damaged shared file, then a successful renewal', () => {
  it('the rate-limit ledger (garbage): moved aside, the ledger restarts with this order', async () => {
    const [ledgerFile] = readdirSync(join(stateDir, 'ratelimits'));
    const ledger = join(stateDir, 'ratelimits', ledgerFile!);
    writeFileSync(ledger, '\u0000\u0000\u0000 not a ledger');
    const run = await runCli(['renew', '--config', config('ledger.config.mjs', [{ name: 'ledger' }])], rel.env);
    expectRenewed(run, 'ledger');
    expectMovedAside(run, ledger);
    expect(JSON.parse(readFileSync(ledger, 'utf8')).orders).toHaveLength(1);
  });

  it('the lock (empty, as a power loss leaves an unsynced file)', async () => {
    mkdirSync(join(stateDir, 'locks'), { recursive: true });
    const lock = join(stateDir, 'locks', 'locked.lock');
    writeFileSync(lock, '');
    const run = await runCli(['renew', '--config', config('lock.config.mjs', [{ name: 'locked' }])], rel.env);
    expectRenewed(run, 'locked');
    expectMovedAside(run, lock);
    expect(eventsNamed(run.events, 'renewal.skipped')).toEqual([]);
  });

  it('notices/emergency.json (garbage) beside a certificate in its emergency period: announced, and renewed', async () => {
    // Deployed by hand long ago: 12 hours of a 20-day lifetime left.
    const old = await selfSignedCertificate(`urgent.${ZONE}`, [`urgent.${ZONE}`], {
      notBefore: new Date(Date.now() - 19.5 * 86_400_000),
      notAfter: new Date(Date.now() + 12 * 3_600_000),
    });
    rememberSecret(old.privateKeyPem);
    const imported = await rel.aws.acm().send(new ImportCertificateCommand({ Certificate: Buffer.from(old.certificatePem), PrivateKey: Buffer.from(old.privateKeyPem) }));
    const notices = join(stateDir, 'notices', 'emergency.json');
    mkdirSync(join(stateDir, 'notices'), { recursive: true });
    writeFileSync(notices, '{"wild1": "0a1b", ');
    const run = await runCli(['renew', '--config', config('urgent.config.mjs', [{ name: 'urgent', certificateArn: imported.CertificateArn! }])], rel.env);
    expectRenewed(run, 'urgent');
    expectMovedAside(run, notices);
    expect(eventsNamed(run.events, 'certificate.emergency', 'urgent')).toHaveLength(1);
    expect(JSON.parse(readFileSync(notices, 'utf8'))).toEqual({ urgent: expect.any(String) });
  });

  it('the ACME account file (truncated): a new account key, registered, and the renewal goes on', async () => {
    const [accountFile] = readdirSync(join(stateDir, 'accounts'));
    const account = join(stateDir, 'accounts', accountFile!);
    const text = readFileSync(account, 'utf8');
    writeFileSync(account, text.slice(0, 40), { mode: 0o600 });
    const run = await runCli(['renew', '--config', config('account.config.mjs', [{ name: 'account' }])], rel.env);
    expectRenewed(run, 'account');
    const movedTo = expectMovedAside(run, account);
    expect(JSON.stringify(eventsNamed(run.events, 'store.file.corrupt'))).not.toContain('PRIVATE KEY');
    expect(eventsNamed(run.events, 'acme.account.key_created')).toHaveLength(1);
    expect(eventsNamed(run.events, 'acme.account.registered')).toHaveLength(1);
    expect(readFileSync(movedTo, 'utf8')).toBe(text.slice(0, 40));
    expect(JSON.parse(readFileSync(account, 'utf8')).accountKey).toMatch(/PRIVATE KEY/);
  });
});
