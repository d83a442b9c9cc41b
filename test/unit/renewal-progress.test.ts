import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { LiveBlock } from '../../src/cli/progress/live-block.js';
import { RenewalProgress } from '../../src/cli/progress/renewal-progress.js';
import { renderRows } from '../../src/cli/progress/render-rows.js';
import { RenewalSteps } from '../../src/cli/progress/renewal-steps.js';
import { createLogger, type AuditEntry } from '../../src/telemetry/logger.js';

const event = (name: string, certificate: string | undefined, fields: Record<string, unknown> = {}): AuditEntry => ({
  level: 'info',
  event: name,
  fields: { runId: 'r1', ...(certificate && { certificate }), ...fields },
});

/** A renewal's audit events as the pipeline writes them, in order, with the moment (ms) of each. */
function renewalOf(name: string, changeId: string, from = 0): [AuditEntry, number][] {
  return [
    [event('renewal.decided', name, { action: 'renew' }), from],
    [event('renewal.started', name), from + 100],
    [event('acme.order.created', name), from + 400],
    [event('dns.challenge.presented', name, { changeIds: [changeId] }), from + 600],
  ];
}

const plain = { color: false, width: 100 };
const RED = '\x1b[31m';
const RESET = '\x1b[0m';

describe('the renewal steps, read from the audit events', () => {
  it('follows a dry run from its own events to ✓ or ✗ (it decides nothing and imports nothing)', () => {
    const steps = new RenewalSteps({ propagationCheck: false });
    expect(steps.apply(event('renewal.dry_run_started', 'www', { dryRun: true }), 0)).toBe(true);
    expect(steps.apply(event('renewal.dry_run_started', 'api', { dryRun: true }), 0)).toBe(true);
    expect(steps.rows().map((row) => row.step)).toEqual(['preflight', 'preflight']);
    steps.apply(event('acme.order.created', 'www', { dryRun: true }), 300);
    steps.apply(event('dns.challenge.presented', 'www', { dryRun: true, changeIds: ['C9'] }), 500);
    expect(steps.rows()[0]!.step).toBe('waiting for Route 53 INSYNC');
    steps.apply(event('renewal.dry_run_succeeded', 'www', { dryRun: true }), 2_500);
    steps.apply(event('renewal.dry_run_failed', 'api', { dryRun: true, error: 'no hosted zone' }), 900);
    expect(steps.settled()).toBe(true);
    expect(renderRows(steps.rows(), 3_000, plain)).toEqual(['✓ www  dry run passed in 2.5 s', '✗ api  failed after 0.9 s: no hosted zone']);
  });

  it('walks a renewal through every step to ✓ with its total time', () => {
    const steps = new RenewalSteps({ propagationCheck: true });
    const seen: string[] = [];
    const at = (entry: AuditEntry, now: number) => {
      expect(steps.apply(entry, now)).toBe(true);
      seen.push(steps.rows()[0]!.done ? 'done' : steps.rows()[0]!.step);
    };
    for (const [entry, now] of renewalOf('www', 'C1')) at(entry, now);
    at({ ...event('dns.change.insync', 'other-certificate', { changeId: 'C1' }), level: 'debug' }, 31_000);
    at(event('dns.challenge.propagated', 'www'), 32_000);
    at(event('acme.challenges.valid', 'www'), 33_000);
    at(event('acme.order.finalized', 'www'), 34_000);
    at(event('acm.imported', 'www'), 34_500);
    at(event('deploy.verifying', 'www'), 35_000);
    at(event('renewal.succeeded', 'www'), 36_200);
    expect(seen).toEqual([
      'preflight',
      'ordering',
      'presenting',
      'waiting for Route 53 INSYNC',
      'checking propagation',
      'validating',
      'finalizing',
      'importing',
      'binding',
      'verifying',
      'done',
    ]);
    expect(steps.settled()).toBe(true);
    expect(renderRows(steps.rows(), 40_000, plain)).toEqual(['✓ www  renewed in 36.2 s']);
  });

  it('ticks the INSYNC wait in seconds, and goes on to validating when propagation is not checked', () => {
    const steps = new RenewalSteps({ propagationCheck: false });
    for (const [entry, now] of renewalOf('www', 'C1')) steps.apply(entry, now);
    expect(renderRows(steps.rows(), 600, plain)).toEqual(['› www  waiting for Route 53 INSYNC… 0 s']);
    expect(renderRows(steps.rows(), 12_700, plain)).toEqual(['› www  waiting for Route 53 INSYNC… 12 s']);
    steps.apply(event('dns.change.insync', undefined, { changeId: 'C1' }), 13_000);
    expect(renderRows(steps.rows(), 13_500, plain)).toEqual(['› www  validating…']);
    // A step that lasts says for how long.
    expect(renderRows(steps.rows(), 16_000, plain)).toEqual(['› www  validating… 3 s']);
  });

  it('leaves INSYNC only when every change of that renewal is in sync, and moves every renewal sharing a change', () => {
    const steps = new RenewalSteps({ propagationCheck: false });
    for (const [entry, now] of [...renewalOf('a', 'C1'), ...renewalOf('b', 'C1')]) steps.apply(entry, now);
    steps.apply(event('dns.challenge.presented', 'a', { changeIds: ['C2'] }), 700);
    steps.apply(event('dns.change.insync', 'a', { changeId: 'C1' }), 5_000);
    expect(steps.rows().map((row) => row.step)).toEqual(['waiting for Route 53 INSYNC', 'validating']);
    steps.apply(event('dns.change.insync', 'a', { changeId: 'C2' }), 6_000);
    expect(steps.rows().map((row) => row.step)).toEqual(['validating', 'validating']);
  });

  it('shows no row for a certificate that is not due, and ✗ with the error for one that fails', () => {
    const steps = new RenewalSteps({ propagationCheck: true });
    expect(steps.apply(event('renewal.decided', 'idle', { action: 'none' }), 0)).toBe(false);
    for (const [entry, now] of renewalOf('api', 'C1')) steps.apply(entry, now);
    steps.apply(event('renewal.failed', 'api', { error: 'dns-01 challenge for api.example failed: NXDOMAIN' }), 2_500);
    // Events of other commands' lines, or of no certificate, change nothing.
    expect(steps.apply(event('pass.finished', undefined), 2_600)).toBe(false);
    expect(renderRows(steps.rows(), 3_000, plain)).toEqual(['✗ api  failed after 2.5 s: dns-01 challenge for api.example failed: NXDOMAIN']);
  });

  it('renders a redeploy, a busy certificate and one another process renewed first', () => {
    const steps = new RenewalSteps({ propagationCheck: true });
    steps.apply(event('renewal.decided', 'moved', { action: 'redeploy' }), 0);
    steps.apply(event('renewal.decided', 'busy', { action: 'renew' }), 0);
    steps.apply(event('renewal.decided', 'raced', { action: 'renew' }), 0);
    expect(renderRows(steps.rows(), 500, plain)).toEqual(['› moved  binding…', '› busy   preflight…', '› raced  preflight…']);
    steps.apply(event('deploy.redeployed', 'moved'), 1_000);
    steps.apply(event('renewal.skipped', 'busy'), 1_000);
    steps.apply(event('renewal.decided', 'raced', { action: 'none', after: 'another process acted first' }), 1_000);
    expect(renderRows(steps.rows(), 2_000, plain)).toEqual([
      '✓ moved  redeployed in 1.0 s',
      '✗ busy   skipped after 1.0 s: another certkeeper process is renewing it',
      '✓ raced  up to date: another certkeeper process renewed it in 1.0 s',
    ]);
    steps.forgetSettled();
    expect(steps.rows()).toEqual([]);
  });

  it('colours ✓ green and ✗ red only when asked, and cuts lines to the terminal width', () => {
    const steps = new RenewalSteps({ propagationCheck: true });
    for (const [entry, now] of [...renewalOf('ok', 'C1'), ...renewalOf('ko', 'C1')]) steps.apply(entry, now);
    steps.apply(event('renewal.succeeded', 'ok'), 1_000);
    steps.apply(event('renewal.failed', 'ko', { error: 'x'.repeat(200) }), 1_000);
    const [ok, ko] = renderRows(steps.rows(), 1_000, { color: true, width: 40 });
    expect(ok).toBe('\x1b[32m✓\x1b[0m ok  renewed in 1.0 s');
    expect(ko!.startsWith('\x1b[31m✗\x1b[0m ko  failed after 1.0 s: xxx')).toBe(true);
    expect([...ko!.replaceAll(`${RED}`, '').replaceAll(`${RESET}`, '')]).toHaveLength(39);
    expect(ko!.endsWith('…')).toBe(true);
  });
});

describe('the live block', () => {
  function terminal() {
    const out = new PassThrough();
    let written = '';
    out.on('data', (chunk) => (written += String(chunk)));
    return { block: new LiveBlock(out), written: () => written };
  }

  it('redraws in place: cursor up over the lines drawn, clear, the new lines', () => {
    const { block, written } = terminal();
    block.draw(['› a  ordering…', '› b  ordering…']);
    block.draw(['› a  presenting…', '› b  ordering…']);
    expect(written()).toBe('› a  ordering…\n› b  ordering…\n\r\x1b[2A\x1b[J› a  presenting…\n› b  ordering…\n');
  });

  it('writes a log line above the block, then draws the block again; after commit, the lines stay', () => {
    const { block, written } = terminal();
    const log: string[] = [];
    block.interleave(() => log.push('before any block'));
    block.draw(['› a  ordering…']);
    block.interleave(() => log.push('a log line'));
    block.commit();
    block.draw(['› b  ordering…']);
    expect(log).toEqual(['before any block', 'a log line']);
    expect(written()).toBe('› a  ordering…\n\r\x1b[1A\x1b[J› a  ordering…\n› b  ordering…\n');
  });
});

describe('the progress display', () => {
  it('follows the log, and once stopped leaves the last state on screen exactly once', () => {
    const out = Object.assign(new PassThrough(), { columns: 60 });
    let written = '';
    out.on('data', (chunk) => (written += String(chunk)));
    let now = 0;
    const progress = new RenewalProgress(out, false, () => now);
    const log = createLogger({ stream: new PassThrough(), pretty: false });
    progress.follow(log, { propagationCheck: false });
    log.child({ certificate: 'www' }).info('renewal.decided', { action: 'renew' });
    now = 1_000;
    log.child({ certificate: 'www' }).info('renewal.started');
    progress.stop();
    progress.stop();
    log.child({ certificate: 'www' }).info('renewal.succeeded');
    expect(written).toBe('› www  preflight…\n\r\x1b[1A\x1b[J› www  ordering…\n\r\x1b[1A\x1b[J› www  ordering…\n');
  });
});
